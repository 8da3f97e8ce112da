{#- Every roster row with the rules it breaks ("rule|reason" strings); valid rows flow on
    to stg_centers__roster, the others become ops.rejects. -#}
{%- set required_columns = required_values('center_roster') -%}
{%- set dates = ['approved_on', 'build_start', 'build_end'] -%}

with

source as (

    select * from {{ source('centers', 'center_roster') }}
    where {{ in_build('_batch_id') }}

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
        to_jsonb(numbered) - 'copy_number' - '_batch_id' - '_source_file' - '_row_number' - '_loaded_at' as payload,
        array_remove(
            array[
                {%- for column in required_columns %}
                    case
                        when nullif(btrim(numbered.{{ column }}), '') is null
                            then 'missing_required_field|{{ column }} is empty'
                    end,
                {%- endfor %}
                {%- for column in dates %}
                    case
                        when nullif(btrim(numbered.{{ column }}), '') is not null and staging.parse_cn_date(numbered.{{ column }}) is null
                            then format('invalid_date|{{ column }} %L is not a date (2025-03-26, 2025/3/26 or 2025年3月26日)', numbered.{{ column }})
                    end,
                    {{ date_out_of_range("'" ~ column ~ "'", 'staging.parse_cn_date(numbered.' ~ column ~ ')') }},
                {%- endfor %}
                case
                    when
                        nullif(btrim(numbered.host_credit_code), '') is not null
                        and not staging.is_valid_credit_code(upper(btrim(numbered.host_credit_code)))
                        then format('malformed_credit_code|host_credit_code %L is not a valid unified social credit code', numbered.host_credit_code)
                end,
                case
                    when
                        nullif(btrim(numbered.district_code), '') is not null
                        and btrim(numbered.district_code) not in (
                            select regions.region_code
                            from regions
                            where regions.region_level = 'district'
                        )
                        then format('unknown_region_code|district_code %L is not a Qingdao district', numbered.district_code)
                end,
                case
                    when nullif(btrim(numbered.status), '') is not null and btrim(numbered.status) not in ('建设期', '运行期', '已撤销')
                        then format('unknown_status|status %L is not 建设期, 运行期 or 已撤销', numbered.status)
                end,
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
flagged as (

    select
        checked.*,
        cardinality(checked.failures) = 0 as is_valid
    from checked

)

select * from flagged
