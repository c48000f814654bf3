{#- One row per stitched user (user_id once any of their devices logged in, else the device's domain_userid).
    Rebuilt from the sessions table on every run: a login moves earlier sessions from the device's row to the
    user's, which an upsert could not remove. Its cost grows with sessions, not events. -#}
{{ config(materialized='table') }}

select
  stitched_user_id as user_identifier,
  identity_source,
  count(distinct domain_userid) as devices,
  count(*) as sessions,
  sum(page_views) as page_views,
  sum(engaged_time_in_s) as engaged_time_in_s,
  min(session_start_tstamp) as first_session_start_tstamp,
  max(session_end_tstamp) as last_session_end_tstamp,
  max(max_collector_tstamp) as max_collector_tstamp
from {{ ref('snowplow_sessions') }}
group by stitched_user_id, identity_source
