{#- Matches the technology market brokered between an achievement and a demand, one row
    per match in its current state (deleted matches left out); a signed match carries
    the registration number of its registered contract. -#}
with

matches as (

    {{ current_versions('stg_platform__matches') }}

),

current_matches as (

    select * from matches
    where not is_deleted

),

contracts as (

    select * from {{ ref('fct_tech_contracts') }}

),

final as (

    select
        current_matches.platform,
        current_matches.match_id,
        current_matches.achievement_id,
        current_matches.demand_id,
        current_matches.matched_on,
        current_matches.match_stage,
        current_matches.amount as match_amount,
        current_matches.registration_no,
        contracts.registration_no is not null and contracts.is_registered as has_registered_contract,
        contracts.contract_amount as registered_contract_amount,
        current_matches.updated_at,
        current_matches.batch_id
    from current_matches
    left join contracts
        on current_matches.registration_no = contracts.registration_no

)

select * from final
