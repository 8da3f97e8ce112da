{#- Fails for every combination of `columns` that occurs more than once (the grain test
    dbt_utils would give; no hub packages can be installed here). -#}
{% test unique_combination(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
