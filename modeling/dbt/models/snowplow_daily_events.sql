{#- Events per UTC day of collector_tstamp, app and event name, with distinct devices and sessions. An
    incremental run recomputes every day from the one the lookback window starts in. -#}
{{ config(unique_key=['event_date', 'app_id', 'event_name']) }}

{% set first_day = dbt.date_trunc('day', lookback_start()) if is_incremental() else none %}

select
  cast(collector_tstamp as date) as event_date,
  coalesce(app_id, '(none)') as app_id,
  coalesce(event_name, '(none)') as event_name,
  count(*) as events,
  count(distinct domain_userid) as devices,
  count(distinct domain_sessionid) as sessions,
  max(collector_tstamp) as max_collector_tstamp
from {{ snowplow_events(since=first_day) }} e
group by cast(collector_tstamp as date), coalesce(app_id, '(none)'), coalesce(event_name, '(none)')
