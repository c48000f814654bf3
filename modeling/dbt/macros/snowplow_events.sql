{#- The loader's events, one row per event_id, ids as strings, in SQL every supported adapter runs. -#}

{% macro snowplow_events(since=none) %}
(
  select * from (
    select
      cast(event_id as {{ dbt.type_string() }}) as event_id,
      app_id,
      platform,
      event_name,
      collector_tstamp,
      coalesce(derived_tstamp, collector_tstamp) as event_tstamp,
      cast(domain_sessionid as {{ dbt.type_string() }}) as domain_sessionid,
      domain_sessionidx,
      domain_userid,
      user_id,
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
      row_number() over (
        partition by event_id order by collector_tstamp, etl_tstamp, event_fingerprint
      ) as event_copy
    from {{ source('atomic', 'events') }}
    where collector_tstamp is not null
    {%- if since is not none %}
      and collector_tstamp >= {{ since }}
    {%- endif %}
    {%- if var('snowplow__app_ids') %}
      and app_id in ({% for app in var('snowplow__app_ids') %}'{{ app }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif %}
  ) numbered
  where event_copy = 1
)
{% endmacro %}


{#- Where an incremental run starts reading: the lookback window before the newest event this model holds
    (its max_collector_tstamp), or the beginning when the model is empty. -#}
{% macro lookback_start() %}
  {%- set newest = "(select max(max_collector_tstamp) from " ~ this ~ ")" -%}
  coalesce(
    {{ dbt.dateadd('hour', -1 * var('snowplow__lookback_window_hours') | int, newest) }},
    {{ snowplow_epoch() }}
  )
{%- endmacro %}


{#- How far back a session touched by the lookback window is re-read in full. -#}
{% macro session_scan_start() %}
  {{- dbt.dateadd('day', -1 * var('snowplow__max_session_days') | int, lookback_start()) -}}
{% endmacro %}


{% macro snowplow_epoch() %}
  cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- Sessions whose events reach into the lookback window: an incremental run rebuilds them whole. -#}
{% macro touched_sessions() %}
  select distinct domain_sessionid
  from {{ snowplow_events(since=lookback_start()) }} recent
  where domain_sessionid is not null
{% endmacro %}


{#- Devices whose user_id mapping may have changed in this run: their older rows are stitched again. -#}
{% macro restitched_devices() %}
  select domain_userid from {{ ref('snowplow_user_mapping') }} where max_collector_tstamp >= {{ lookback_start() }}
{% endmacro %}
