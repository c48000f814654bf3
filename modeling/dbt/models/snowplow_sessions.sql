{#- One row per domain_sessionid: its span, events, page views and engaged time, and the stitched user. -#}
{{ config(unique_key='domain_sessionid') }}

with
{% if is_incremental() %}
touched as (
  {{ touched_sessions() }}
),
{% endif %}

events as (
  select *
  from {{ snowplow_events(since=session_scan_start() if is_incremental() else none) }} e
  where domain_sessionid is not null
  {% if is_incremental() %}
    and domain_sessionid in (select domain_sessionid from touched)
  {% endif %}
),

numbered as (
  select
    events.*,
    row_number() over (partition by domain_sessionid order by event_tstamp, event_id) as event_in_session_index,
    row_number() over (
      partition by domain_sessionid order by case when user_id is null then 1 else 0 end, event_tstamp desc, event_id
    ) as identified_recency
  from events
),

spans as (
  select
    domain_sessionid,
    count(*) as events,
    min(event_tstamp) as session_start_tstamp,
    max(event_tstamp) as session_end_tstamp,
    max(domain_sessionidx) as domain_sessionidx,
    max(collector_tstamp) as max_collector_tstamp
  from events
  group by domain_sessionid
),

session_views as (
  select
    domain_sessionid,
    count(*) as page_views,
    sum(engaged_time_in_s) as engaged_time_in_s,
    max(page_view_in_session_index) as last_page_view_index
  from {{ ref('snowplow_page_views') }}
  {% if is_incremental() %}
  where domain_sessionid in (select domain_sessionid from touched)
  {% endif %}
  group by domain_sessionid
),

modeled as (
  select
    s.domain_sessionid,
    first_event.domain_userid,
    last_login.user_id,
    first_event.app_id,
    s.domain_sessionidx,
    s.session_start_tstamp,
    s.session_end_tstamp,
    cast(s.session_start_tstamp as date) as session_start_date,
    {{ dbt.datediff('s.session_start_tstamp', 's.session_end_tstamp', 'second') }} as session_duration_in_s,
    s.events,
    coalesce(v.page_views, 0) as page_views,
    coalesce(v.engaged_time_in_s, 0) as engaged_time_in_s,
    landing.page_url as landing_page_url,
    landing.refr_medium as landing_refr_medium,
    landing.refr_source as landing_refr_source,
    landing.mkt_medium as landing_mkt_medium,
    landing.mkt_source as landing_mkt_source,
    landing.mkt_campaign as landing_mkt_campaign,
    exit_view.page_url as exit_page_url,
    s.max_collector_tstamp
  from spans s
  inner join numbered first_event
    on first_event.domain_sessionid = s.domain_sessionid and first_event.event_in_session_index = 1
  inner join numbered last_login
    on last_login.domain_sessionid = s.domain_sessionid and last_login.identified_recency = 1
  left join session_views v on v.domain_sessionid = s.domain_sessionid
  left join {{ ref('snowplow_page_views') }} landing
    on landing.domain_sessionid = s.domain_sessionid and landing.page_view_in_session_index = 1
  left join {{ ref('snowplow_page_views') }} exit_view
    on exit_view.domain_sessionid = s.domain_sessionid and exit_view.page_view_in_session_index = v.last_page_view_index
  {% if is_incremental() %}
  union all
  select
    domain_sessionid, domain_userid, user_id, app_id, domain_sessionidx, session_start_tstamp, session_end_tstamp,
    session_start_date, session_duration_in_s, events, page_views, engaged_time_in_s, landing_page_url,
    landing_refr_medium, landing_refr_source, landing_mkt_medium, landing_mkt_source, landing_mkt_campaign,
    exit_page_url, max_collector_tstamp
  from {{ this }}
  where domain_userid in ({{ restitched_devices() }})
    and domain_sessionid not in (select domain_sessionid from touched)
  {% endif %}
)

select
  modeled.*,
  coalesce(mapping.user_id, modeled.user_id, modeled.domain_userid) as stitched_user_id,
  case when coalesce(mapping.user_id, modeled.user_id) is null then 'domain_userid' else 'user_id' end
    as identity_source
from modeled
left join {{ ref('snowplow_user_mapping') }} mapping on mapping.domain_userid = modeled.domain_userid
