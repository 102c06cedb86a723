{#- CM-03 / CM-12 / CM-04: the CSAT-survey and complaint-revisit clocks appear both in sla_targets
    (minutes, for attribution) and as scalar parameters (used by fct_tickets); they must agree. -#}
select s.sla_key, s.target_minutes
from {{ policy_rows('sla_targets', ['sla_key']) }} as s
where (s.sla_key = 'csat_survey_sent'
       and s.target_minutes is distinct from ({{ policy_param('csat_send_within_hours') }} * 60)::integer)
   or (s.sla_key = 'complaint_revisit'
       and s.target_minutes is distinct from ({{ policy_param('revisit_max_days_after_resolution') }} * 1440)::integer)
