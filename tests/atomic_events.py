"""atomic.events as the Postgres loader (0.3) creates it, and synthetic Snowplow events to fill it.

The loader writes the 131 enriched-event fields except the three JSON ones (contexts, unstruct_event,
derived_contexts), which it shreds into one table per schema: 128 columns, in the enriched format's order,
with the loader's types (snowplow-postgres-loader `storage/definitions.scala`).
"""

import uuid
from datetime import datetime, timedelta

COLUMNS = """
app_id varchar(255); platform varchar(255); etl_tstamp timestamp; collector_tstamp timestamp NOT NULL;
dvce_created_tstamp timestamp; event varchar(128); event_id uuid NOT NULL; txn_id integer;
name_tracker varchar(128); v_tracker varchar(100); v_collector varchar(100) NOT NULL; v_etl varchar(100) NOT NULL;
user_id varchar(255); user_ipaddress varchar(45); user_fingerprint varchar(50); domain_userid varchar(36);
domain_sessionidx integer; network_userid varchar(38); geo_country char(2); geo_region char(3);
geo_city varchar(75); geo_zipcode varchar(15); geo_latitude double precision; geo_longitude double precision;
geo_region_name varchar(100); ip_isp varchar(100); ip_organization varchar(100); ip_domain varchar(100);
ip_netspeed varchar(100); page_url varchar(4096); page_title varchar(2000); page_referrer varchar(4096);
page_urlscheme varchar(16); page_urlhost varchar(255); page_urlport integer; page_urlpath varchar(3000);
page_urlquery varchar(6000); page_urlfragment varchar(3000); refr_urlscheme varchar(16); refr_urlhost varchar(255);
refr_urlport integer; refr_urlpath varchar(6000); refr_urlquery varchar(6000); refr_urlfragment varchar(3000);
refr_medium varchar(25); refr_source varchar(50); refr_term varchar(255); mkt_medium varchar(255);
mkt_source varchar(255); mkt_term varchar(255); mkt_content varchar(500); mkt_campaign varchar(255);
se_category varchar(1000); se_action varchar(1000); se_label varchar(1000); se_property varchar(1000);
se_value double precision; tr_orderid varchar(255); tr_affiliation varchar(255); tr_total double precision;
tr_tax double precision; tr_shipping double precision; tr_city varchar(255); tr_state varchar(255);
tr_country varchar(255); ti_orderid varchar(255); ti_sku varchar(255); ti_name varchar(255);
ti_category varchar(255); ti_price double precision; ti_quantity integer; pp_xoffset_min integer;
pp_xoffset_max integer; pp_yoffset_min integer; pp_yoffset_max integer; useragent varchar(1000);
br_name varchar(50); br_family varchar(50); br_version varchar(50); br_type varchar(50);
br_renderengine varchar(50); br_lang varchar(255); br_features_pdf boolean; br_features_flash boolean;
br_features_java boolean; br_features_director boolean; br_features_quicktime boolean;
br_features_realplayer boolean; br_features_windowsmedia boolean; br_features_gears boolean;
br_features_silverlight boolean; br_cookies boolean; br_colordepth varchar(12); br_viewwidth integer;
br_viewheight integer; os_name varchar(50); os_family varchar(50); os_manufacturer varchar(50);
os_timezone varchar(50); dvce_type varchar(50); dvce_ismobile boolean; dvce_screenwidth integer;
dvce_screenheight integer; doc_charset varchar(128); doc_width integer; doc_height integer; tr_currency char(3);
tr_total_base double precision; tr_tax_base double precision; tr_shipping_base double precision;
ti_currency char(3); ti_price_base double precision; base_currency char(3); geo_timezone varchar(64);
mkt_clickid varchar(128); mkt_network varchar(64); etl_tags varchar(500); dvce_sent_tstamp timestamp;
refr_domain_userid varchar(36); refr_dvce_tstamp timestamp; domain_sessionid uuid; derived_tstamp timestamp;
event_vendor varchar(1000); event_name varchar(1000); event_format varchar(128); event_version varchar(128);
event_fingerprint varchar(128); true_tstamp timestamp
"""
COLUMN_NAMES = [c.split()[0] for c in COLUMNS.replace("\n", " ").split(";")]


def create_events_table(schema: str = "atomic") -> str:
    columns = ",\n  ".join(c.strip() for c in COLUMNS.split(";"))
    return f"CREATE SCHEMA IF NOT EXISTS {schema};\nCREATE TABLE {schema}.events (\n  {columns}\n) WITH (OIDS=FALSE);\n"


def ids(name: str) -> str:
    """A stable UUID for a name, so expectations can name devices, sessions and events."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"snowplow-pulumi-test/{name}"))


def tstamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


# What a JavaScript tracker on a desktop Firefox sends, enriched (the fields every event here shares).
BROWSER = {
    "platform": "web",
    "name_tracker": "sp",
    "v_tracker": "js-3.24.2",
    "v_collector": "ssc-3.2.0-kinesis",
    "v_etl": "snowplow-enrich-kinesis-5.1.0",
    "user_ipaddress": "203.0.113.0",
    "geo_country": "DE",
    "useragent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "br_family": "Firefox",
    "br_lang": "de-DE",
    "br_cookies": True,
    "os_family": "Linux",
    "dvce_type": "Computer",
    "dvce_ismobile": False,
    "event_format": "jsonschema",
}
EVENT_TYPES = {
    "page_view": ("page_view", "com.snowplowanalytics.snowplow", "1-0-0"),
    "page_ping": ("page_ping", "com.snowplowanalytics.snowplow", "1-0-0"),
    "event": ("struct", "com.google.analytics", "1-0-0"),
}


def event(
    name: str,
    event_name: str,
    at: str,
    *,
    device: str | None,
    session: str | None,
    session_index: int | None = None,
    user_id: str | None = None,
    path: str | None = None,
    app_id: str = "web-shop",
    **fields,
) -> dict:
    """One enriched event; `at` is the device's time, the collector receives it a second later."""
    created = tstamp(at)
    kind, vendor, version = EVENT_TYPES[event_name]
    row = {
        **BROWSER,
        "app_id": app_id,
        "event": kind,
        "event_id": ids(f"event/{name}"),
        "event_name": event_name,
        "event_vendor": vendor,
        "event_version": version,
        "dvce_created_tstamp": created,
        "dvce_sent_tstamp": created + timedelta(milliseconds=300),
        "collector_tstamp": created + timedelta(seconds=1),
        "etl_tstamp": created + timedelta(seconds=3),
        "derived_tstamp": created,
        "domain_userid": device and ids(f"device/{device}"),
        "domain_sessionid": session and ids(f"session/{session}"),
        "domain_sessionidx": session_index,
        "network_userid": device and ids(f"network/{device}"),
        "user_id": user_id,
        "event_fingerprint": ids(f"fingerprint/{name}").replace("-", ""),
    }
    if path is not None:
        row.update(
            page_url=f"https://shop.example.com{path}",
            page_urlscheme="https",
            page_urlhost="shop.example.com",
            page_urlport=443,
            page_urlpath=path,
            page_title=f"Shop {path}",
        )
    if event_name == "page_ping":
        row.update(pp_xoffset_min=0, pp_xoffset_max=0, pp_yoffset_min=0, pp_yoffset_max=600)
    row.update(fields)
    return row


def sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat(sep=' ')}'"
    return "'" + str(value).replace("'", "''") + "'"


def insert_statements(events: list[dict], table: str = "atomic.events") -> str:
    """INSERTs naming every loader column in order (absent fields NULL), as the loader writes rows."""
    unknown = {key for row in events for key in row} - set(COLUMN_NAMES)
    assert not unknown, f"not atomic.events columns: {unknown}"
    values = ",\n".join("(" + ", ".join(sql_literal(row.get(c)) for c in COLUMN_NAMES) + ")" for row in events)
    return f"INSERT INTO {table} ({', '.join(COLUMN_NAMES)}) VALUES\n{values};\n"
