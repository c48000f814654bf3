{#- One row per page view event. Page pings belong to the latest page view of the same session and page_url
    at or before them (and before that URL's next page view); engaged time = pings x heartbeat. -#}
{{ config(unique_key='page_view_id') }}

with
{% if is_incremental() %}
touched as (
  {{ touched_sessions() }}
),
{% endif %}

events as (
  select *
  from {{ snowplow_events(since=session_scan_start() if is_incremental() else none) }} e
  where event_name in ('page_view', 'page_ping')
    and domain_sessionid is not null
  {% if is_incremental() %}
    and domain_sessionid in (select domain_sessionid from touched)
  {% endif %}
),

page_views as (
  select
    event_id as page_view_id,
    domain_sessionid,
    domain_userid,
    user_id,
    app_id,
    platform,
    page_url,
    page_title,
    page_urlhost,
    page_urlpath,
    page_referrer,
    refr_medium,
    refr_source,
    mkt_medium,
    mkt_source,
    mkt_campaign,
    event_tstamp as page_view_tstamp,
    collector_tstamp,
    row_number() over (partition by domain_sessionid order by event_tstamp, event_id) as page_view_in_session_index,
    lead(event_tstamp) over (partition by domain_sessionid, page_url order by event_tstamp, event_id) as next_view_tstamp
  from events
  where event_name = 'page_view'
),

pings as (
  select
    pv.page_view_id,
    count(*) as page_pings,
    max(p.event_tstamp) as last_ping_tstamp,
    max(p.collector_tstamp) as max_ping_collector_tstamp
  from page_views pv
  inner join events p
    on p.event_name = 'page_ping'
    and p.domain_sessionid = pv.domain_sessionid
    and p.page_url = pv.page_url
    and p.event_tstamp >= pv.page_view_tstamp
    and (pv.next_view_tstamp is null or p.event_tstamp < pv.next_view_tstamp)
  group by pv.page_view_id
),

modeled as (
  select
    pv.page_view_id,
    pv.domain_sessionid,
    pv.domain_userid,
    pv.user_id,
    pv.app_id,
    pv.platform,
    pv.page_url,
    pv.page_title,
    pv.page_urlhost,
    pv.page_urlpath,
    pv.page_referrer,
    pv.refr_medium,
    pv.refr_source,
    pv.mkt_medium,
    pv.mkt_source,
    pv.mkt_campaign,
    pv.page_view_tstamp,
    cast(pv.page_view_tstamp as date) as page_view_date,
    pv.page_view_in_session_index,
    coalesce(pi.page_pings, 0) as page_pings,
    coalesce(pi.page_pings, 0) * {{ var('snowplow__heartbeat_seconds') | int }} as engaged_time_in_s,
    {{ dbt.datediff('pv.page_view_tstamp', 'coalesce(pi.last_ping_tstamp, pv.page_view_tstamp)', 'second') }}
      as absolute_time_in_s,
    case
      when pi.max_ping_collector_tstamp > pv.collector_tstamp then pi.max_ping_collector_tstamp
      else pv.collector_tstamp
    end as max_collector_tstamp
  from page_views pv
  left join pings pi on pi.page_view_id = pv.page_view_id
  {% if is_incremental() %}
  union all
  select
    page_view_id, domain_sessionid, domain_userid, user_id, app_id, platform, page_url, page_title, page_urlhost,
    page_urlpath, page_referrer, refr_medium, refr_source, mkt_medium, mkt_source, mkt_campaign, page_view_tstamp,
    page_view_date, page_view_in_session_index, page_pings, engaged_time_in_s, absolute_time_in_s,
    max_collector_tstamp
  from {{ this }}
  where domain_userid in ({{ restitched_devices() }})
    and domain_sessionid not in (select domain_sessionid from touched)
  {% endif %}
)

select
  modeled.*,
  coalesce(mapping.user_id, modeled.user_id, modeled.domain_userid) as stitched_user_id
from modeled
left join {{ ref('snowplow_user_mapping') }} mapping on mapping.domain_userid = modeled.domain_userid
