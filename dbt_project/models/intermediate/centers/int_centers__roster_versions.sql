{#- The roster's history as versions (SCD2). Every yearly roster (centers_YYYY.csv, as of
    31 December) supersedes the one before: a center's version runs while consecutive
    rosters list it with the same attributes. It ends where a roster changes it (the new
    version starts that roster's day) or drops it (the center left the system that day).
    The first version starts on the approval date the roster gives. -#}
-- a table: dim_center, the center-years and their tests read it
{{ config(materialized='table') }}
{%- set attributes = [
    'center_name', 'host_org_name', 'host_credit_code', 'district_code', 'industry',
    'approval_batch', 'approved_on', 'build_start', 'build_end', 'status'
] -%}

with

roster as (

    select * from {{ ref('stg_centers__roster') }}

),

rosters as (

    select
        roster_year,
        make_date(roster_year, 12, 31) as roster_date,
        row_number() over (order by roster_year) as roster_seq
    from (select distinct roster_year from roster) as years

),

-- a roster re-delivered for the same year: the later delivery counts
entries as (

    select distinct on (roster.center_code, roster.roster_year)
        roster.*,
        rosters.roster_seq
    from roster
    inner join rosters
        on roster.roster_year = rosters.roster_year
    order by roster.center_code asc, roster.roster_year asc, roster.batch_id desc

),

previous as (

    select
        entries.*,
        lag(entries.roster_seq) over (partition by entries.center_code order by entries.roster_seq)
            as previous_roster_seq,
        lag(md5(concat_ws('|', {{ attributes | join(', ') }}))) over (
            partition by entries.center_code order by entries.roster_seq
        ) as previous_attributes,
        md5(concat_ws('|', {{ attributes | join(', ') }})) as current_attributes
    from entries

),

-- a version starts with a center's first roster, after a roster that left it out, and
-- wherever an attribute changed
changes as (

    select
        previous.*,
        case
            when
                (previous.previous_roster_seq is distinct from previous.roster_seq - 1)
                or (previous.previous_attributes is distinct from previous.current_attributes)
                then 1
            else 0
        end as starts_version
    from previous

),

islands as (

    select
        changes.*,
        sum(changes.starts_version) over (
            partition by changes.center_code order by changes.roster_seq
        ) as version_number
    from changes

),

versions as (

    select
        center_code,
        version_number,
        {% for column in attributes -%}
            min({{ column }}) as {{ column }},
        {% endfor -%}
        min(roster_year) as first_roster_year,
        max(roster_year) as last_roster_year,
        max(roster_seq) as last_roster_seq
    from islands
    group by center_code, version_number

),

bounded as (

    select
        versions.*,
        case
            when versions.version_number = 1
                then least(versions.approved_on, make_date(versions.first_roster_year, 12, 31))
            else make_date(versions.first_roster_year, 12, 31)
        end as valid_from,
        -- the roster after the version's last: it changed the center or left it out
        next_roster.roster_date as valid_to
    from versions
    left join rosters as next_roster
        on versions.last_roster_seq + 1 = next_roster.roster_seq

),

final as (

    select
        center_code,
        version_number::int as version_number,
        {% for column in attributes -%}
            {{ column }},
        {% endfor -%}
        status in ('建设期', '运行期') as is_in_system,
        first_roster_year,
        last_roster_year,
        valid_from,
        valid_to,
        valid_to is null as is_current
    from bounded

)

select * from final
