{#- Each device (domain_userid) mapped to the user_id it was last seen logged in with. -#}
{{ config(unique_key='domain_userid') }}

with logins as (
  select domain_userid, user_id, event_tstamp, collector_tstamp
  from {{ snowplow_events(since=lookback_start() if is_incremental() else none) }} e
  where domain_userid is not null and user_id is not null
),

candidates as (
  select domain_userid, user_id, event_tstamp, collector_tstamp from logins
  {% if is_incremental() %}
  union all
  select domain_userid, user_id, last_identified_tstamp, max_collector_tstamp
  from {{ this }}
  where domain_userid in (select domain_userid from logins)
  {% endif %}
),

ranked as (
  select
    domain_userid,
    user_id,
    event_tstamp,
    row_number() over (partition by domain_userid order by event_tstamp desc, user_id desc) as recency,
    max(collector_tstamp) over (partition by domain_userid) as max_collector_tstamp
  from candidates
)

select
  domain_userid,
  user_id,
  event_tstamp as last_identified_tstamp,
  max_collector_tstamp
from ranked
where recency = 1
