{#- The range rules of every staging check: a date outside the calendar dim_date holds,
    an amount, rate or indicator value outside what the report models can sum and store.
    The bounds are the vars of dbt_project.yml, nowhere else. Each rule comes as the
    condition and the "rule|reason" failure, for a chain of `when`s, and as a whole `case`
    for a checks array. `label` is SQL for the field's name ('signed_on' or field.key),
    `parsed` SQL for the parsed value. -#}

{% macro date_is_out_of_range(parsed) -%}
    {{ parsed }} not between '{{ var("dim_date_start") }}'::date and '{{ var("dim_date_end") }}'::date
{%- endmacro %}

{% macro date_out_of_range_failure(label, parsed) -%}
    format(
        'date_out_of_range|%s %s is outside {{ var("dim_date_start") }} to {{ var("dim_date_end") }}, the calendar the warehouse reports on',
        {{ label }},
        {{ parsed }}
    )
{%- endmacro %}

{% macro date_out_of_range(label, parsed) -%}
    case
        when {{ date_is_out_of_range(parsed) }}
            then {{ date_out_of_range_failure(label, parsed) }}
    end
{%- endmacro %}

{#- `bound`: the var holding the largest value; `below_zero`: false where another rule
    already rejects what is not above zero (non_positive_amount). -#}
{% macro amount_is_out_of_range(parsed, bound='amount_max', below_zero=true) -%}
    ({% if below_zero %}{{ parsed }} < 0 or {% endif %}{{ parsed }} > {{ var(bound) }})
{%- endmacro %}

{% macro amount_out_of_range_failure(label, parsed, bound='amount_max', unit=' yuan') -%}
    format('amount_out_of_range|%s %s is outside 0 to {{ var(bound) }}{{ unit }}', {{ label }}, {{ parsed }})
{%- endmacro %}

{% macro amount_out_of_range(label, parsed, bound='amount_max', unit=' yuan', below_zero=true) -%}
    case
        when {{ amount_is_out_of_range(parsed, bound, below_zero) }}
            then {{ amount_out_of_range_failure(label, parsed, bound, unit) }}
    end
{%- endmacro %}
