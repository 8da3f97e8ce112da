{#- An indicator value on a 0–100 scale, by the scheme's method (evaluation_scheme):
    - min_max: where the value lies between the year's lowest and highest (100 if all equal);
    - benchmark: the value against the year's benchmark (the scheme's benchmark_percentile
      of the centers' values), capped at 100;
    - target: the value against the scheme's target_value, capped at 100;
    - percent_rank: the share of centers with a lower value.
    direction 'lower' turns each round (less is better). No value scores 0. -#}
{% macro normalized_score(value, method, direction, target, min_value, max_value, benchmark, percent_rank) -%}
    case
        when {{ value }} is null then 0
        when {{ method }} = 'min_max' then
            case
                when {{ max_value }} = {{ min_value }} then 100
                when {{ direction }} = 'lower'
                    then 100.0 * ({{ max_value }} - {{ value }}) / ({{ max_value }} - {{ min_value }})
                else 100.0 * ({{ value }} - {{ min_value }}) / ({{ max_value }} - {{ min_value }})
            end
        when {{ method }} = 'benchmark' then
            case
                when {{ direction }} = 'lower'
                    then case when {{ value }} <= 0 then 100 else least(100, 100.0 * {{ benchmark }} / {{ value }}) end
                when coalesce({{ benchmark }}, 0) <= 0 then 100
                else least(100, greatest(0, 100.0 * {{ value }} / {{ benchmark }}))
            end
        when {{ method }} = 'target' then
            case
                when {{ direction }} = 'lower'
                    then case when {{ value }} <= 0 then 100 else least(100, 100.0 * {{ target }} / {{ value }}) end
                else least(100, greatest(0, 100.0 * {{ value }} / nullif({{ target }}, 0)))
            end
        when {{ method }} = 'percent_rank' then
            100.0 * case when {{ direction }} = 'lower' then 1 - {{ percent_rank }} else {{ percent_rank }} end
    end
{%- endmacro %}
