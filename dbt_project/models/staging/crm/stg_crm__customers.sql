{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts:
    the contract's columns (macro staging_view; a missing updated_at defaults to the export date), e-mail
    and phone hashed.
    expertise_hint: optional seed_spec 6.1 column outside the landing contract: a source that sends it as
    an extra column has it kept in _extra by the loader (RL-15 wording). Trimmed and lower-cased; the
    lists map it through the tone_styles seed (unrecognised or absent = 'unknown'). -#}
{{ staging_view('customers', columns={
    'status': 'status as customer_status',
    'email': hash_email('email') ~ ' as email_hash',
    'phone': hash_phone('phone') ~ ' as phone_hash',
}, add_after={
    'account_manager_id': ["lower(nullif(trim(_extra ->> 'expertise_hint'), '')) as expertise_hint"],
}) }}
