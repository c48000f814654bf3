"""The enriched event as the S3 loader writes it: 131 tab-separated fields per line, in the order of Snowplow's
enriched TSV format, with the Athena (Hive DDL) type each is read as.

Timestamps are `yyyy-MM-dd HH:mm:ss.SSS` UTC, which the default text SerDe reads as `timestamp`. Booleans are
`0`/`1`, which Hive's boolean does not accept, so they are `tinyint`. Self-describing JSON fields stay `string`
(query them with json_extract). Field 122 is `refr_dvce_tstamp`, the name the warehouses use.
"""

# Format type -> Athena column type.
ATHENA_TYPES = {
    "str": "string",
    "uuid": "string",
    "json": "string",
    "ts": "timestamp",
    "int": "int",
    "dbl": "double",
    "bool": "tinyint",
}

_FIELDS = """
app_id:str platform:str etl_tstamp:ts collector_tstamp:ts dvce_created_tstamp:ts event:str event_id:uuid txn_id:int
name_tracker:str v_tracker:str v_collector:str v_etl:str user_id:str user_ipaddress:str user_fingerprint:str
domain_userid:str domain_sessionidx:int network_userid:str geo_country:str geo_region:str geo_city:str
geo_zipcode:str geo_latitude:dbl geo_longitude:dbl geo_region_name:str ip_isp:str ip_organization:str
ip_domain:str ip_netspeed:str page_url:str page_title:str page_referrer:str page_urlscheme:str page_urlhost:str
page_urlport:int page_urlpath:str page_urlquery:str page_urlfragment:str refr_urlscheme:str refr_urlhost:str
refr_urlport:int refr_urlpath:str refr_urlquery:str refr_urlfragment:str refr_medium:str refr_source:str
refr_term:str mkt_medium:str mkt_source:str mkt_term:str mkt_content:str mkt_campaign:str contexts:json
se_category:str se_action:str se_label:str se_property:str se_value:dbl unstruct_event:json tr_orderid:str
tr_affiliation:str tr_total:dbl tr_tax:dbl tr_shipping:dbl tr_city:str tr_state:str tr_country:str ti_orderid:str
ti_sku:str ti_name:str ti_category:str ti_price:dbl ti_quantity:int pp_xoffset_min:int pp_xoffset_max:int
pp_yoffset_min:int pp_yoffset_max:int useragent:str br_name:str br_family:str br_version:str br_type:str
br_renderengine:str br_lang:str br_features_pdf:bool br_features_flash:bool br_features_java:bool
br_features_director:bool br_features_quicktime:bool br_features_realplayer:bool br_features_windowsmedia:bool
br_features_gears:bool br_features_silverlight:bool br_cookies:bool br_colordepth:str br_viewwidth:int
br_viewheight:int os_name:str os_family:str os_manufacturer:str os_timezone:str dvce_type:str dvce_ismobile:bool
dvce_screenwidth:int dvce_screenheight:int doc_charset:str doc_width:int doc_height:int tr_currency:str
tr_total_base:dbl tr_tax_base:dbl tr_shipping_base:dbl ti_currency:str ti_price_base:dbl base_currency:str
geo_timezone:str mkt_clickid:str mkt_network:str etl_tags:str dvce_sent_tstamp:ts refr_domain_userid:str
refr_dvce_tstamp:ts derived_contexts:json domain_sessionid:str derived_tstamp:ts event_vendor:str event_name:str
event_format:str event_version:str event_fingerprint:str true_tstamp:ts
"""

ENRICHED_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (name, kind) for name, _, kind in (field.partition(":") for field in _FIELDS.split())
)


def athena_columns() -> list[tuple[str, str]]:
    """(column, Athena type) for every enriched field, in file order."""
    return [(name, ATHENA_TYPES[kind]) for name, kind in ENRICHED_FIELDS]
