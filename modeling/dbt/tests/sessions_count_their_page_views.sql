-- A session's page_views and engaged time are the sums over its rows in snowplow_page_views.
select s.domain_sessionid
from {{ ref('snowplow_sessions') }} s
left join (
  select domain_sessionid, count(*) as page_views, sum(engaged_time_in_s) as engaged_time_in_s
  from {{ ref('snowplow_page_views') }}
  group by domain_sessionid
) v on v.domain_sessionid = s.domain_sessionid
where s.page_views <> coalesce(v.page_views, 0) or s.engaged_time_in_s <> coalesce(v.engaged_time_in_s, 0)
