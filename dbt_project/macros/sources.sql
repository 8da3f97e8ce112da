{#- Generated from plugins/ttw/sources.py by `python -m ttw.sources`: do not edit.
    tests/unit/test_sources.py fails while this file differs from what the registry gives. -#}

{% macro source_columns(family) -%}
    {#- The source columns of a family's raw table, in export order (load metadata aside). -#}
    {{ return({
        "registry_contracts": [
            "registration_no",
            "project_name",
            "contract_type",
            "contract_subtype",
            "signed_on",
            "registered_on",
            "seller_name",
            "seller_credit_code",
            "seller_nature_code",
            "seller_region_code",
            "buyer_name",
            "buyer_credit_code",
            "buyer_nature_code",
            "buyer_region_code",
            "buyer_country_code",
            "contract_amount",
            "tech_transaction_amount",
            "tech_field",
            "ip_type",
            "status",
            "contact_name",
            "contact_phone"
        ],
        "center_roster": [
            "center_code",
            "center_name",
            "host_org_name",
            "host_credit_code",
            "district_code",
            "industry",
            "batch",
            "approved_on",
            "build_start",
            "build_end",
            "status"
        ]
    }[family]) }}
{%- endmacro %}

{% macro required_values(family) -%}
    {#- The columns whose value may never be empty: a row with one empty is rejected. -#}
    {{ return({
        "registry_contracts": [
            "registration_no",
            "contract_type",
            "signed_on",
            "registered_on",
            "seller_name",
            "seller_credit_code",
            "seller_region_code",
            "buyer_name",
            "contract_amount",
            "tech_transaction_amount",
            "tech_field",
            "status"
        ],
        "center_roster": [
            "center_code",
            "center_name",
            "host_org_name",
            "host_credit_code",
            "district_code",
            "industry",
            "approved_on",
            "build_start",
            "build_end",
            "status"
        ]
    }[family]) }}
{%- endmacro %}

{% macro source_family_labels() -%}
    {#- Family -> its names for BI, in Chinese and English. -#}
    {{ return({
        "registry_contracts": {
            "zh": "技术合同登记",
            "en": "Contract registry exports"
        },
        "center_roster": {
            "zh": "技术创新中心名单",
            "en": "Center rosters"
        },
        "center_reports": {
            "zh": "技术创新中心年度报告",
            "en": "Center annual reports"
        },
        "platform_records": {
            "zh": "平台数据",
            "en": "Platform exports"
        }
    }) }}
{%- endmacro %}

{% macro source_checks() -%}
    {#- Every family's check model, with the SQL that says where in the delivery a row was. -#}
    {{ return([
        {
            "model": "base_registry__contract_checks",
            "family": "registry_contracts",
            "location": "null::text"
        },
        {
            "model": "base_centers__roster_checks",
            "family": "center_roster",
            "location": "null::text"
        },
        {
            "model": "base_reports__indicator_checks",
            "family": "center_reports",
            "location": "checks.cell"
        },
        {
            "model": "base_platform__record_checks",
            "family": "platform_records",
            "location": "concat_ws('/', checks.platform, checks.resource, checks.record_id)"
        }
    ]) }}
{%- endmacro %}
