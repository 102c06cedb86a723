{#- Staging: every version of an order exported on or before var('run_date') (the landing exports are
    deltas; the raw layer keeps each export's version), renamed and masked (ST-06). Only renames / casts
    (macro staging_view; a missing updated_at defaults to the export date): the latest version per key is
    resolved by the incremental fct_orders (macro incremental_latest). -#}
{{ staging_view('orders', every_version=true, columns={
    'status': 'status as order_status',
    'channel': 'channel as order_channel',
}) }}
