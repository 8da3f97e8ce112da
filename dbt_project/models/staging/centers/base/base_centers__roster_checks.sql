{#- Every roster row with the rules it breaks ("rule|reason" strings); valid rows flow on
    to stg_centers__roster, the others become ops.rejects. -#}
{%- set required_columns = required_values('center_roster') -%}
{%- set dates = ['approved_on', 'build_start', 'build_end'] -%}

with

source as (

    {{ rows_to_check('centers', 'center_roster') }}

),

regions as (

    select * from {{ ref('region_codes') }}

),

numbered as (

    select
        source.*,
        row_number() over (partition by source._batch_id, btrim(source.center_code) order by source._row_number) as copy_number
    from source

),

checked as (

    select
        numbered.*,
        substring(numbered._source_file from 'centers_(\d{4})[^/]*$')::int as roster_year,
        {{ delivered_row('numbered', computed=['copy_number']) }} as payload,
        array_remove(
            array[
                {{ missing_required_fields('numbered', required_columns) }},
                {%- for column in dates %}
                    {{ invalid_date('numbered', column, 'staging.parse_cn_date(numbered.' ~ column ~ ')') }},
                    {{ date_out_of_range("'" ~ column ~ "'", 'staging.parse_cn_date(numbered.' ~ column ~ ')') }},
                {%- endfor %}
                {{ malformed_credit_code('numbered', 'host_credit_code') }},
                {{ not_allowed(
                    'numbered', 'district_code', 'unknown_region_code',
                    "select regions.region_code from regions where regions.region_level = 'district'",
                    'is not a Qingdao district'
                ) }},
                {{ not_allowed('numbered', 'status', 'unknown_status', "'建设期', '运行期', '已撤销'", 'is not 建设期, 运行期 or 已撤销') }},
                case
                    when nullif(btrim(numbered.center_code), '') is not null and numbered.copy_number > 1
                        then format('duplicate_center|center_code %s appears earlier in the roster (that row is kept)', btrim(numbered.center_code))
                end,
                case
                    when numbered._source_file !~ 'centers_\d{4}[^/]*$'
                        then 'unknown_roster_year|the file name does not say the roster year (centers_YYYY.csv)'
                end
            ],
            null
        ) as failures
    from numbered
    {{ evaluate_once() }}

),

-- a plain flag the planner has statistics for (it cannot estimate cardinality(failures))
{{ flagged_checks() }}
