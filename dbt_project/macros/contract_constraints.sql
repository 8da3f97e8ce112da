{#- An incremental model's contract constraints are created with its table, on its first
    build (or a full refresh). Two things can leave the table without them: the table was
    built before the model's contract declared them, and rebuilding a table the model
    references drops the model's foreign keys with it (dbt drops the replaced table with
    cascade). Run as the model's post-hook, this puts back every not_null, primary key and
    foreign key the contract declares that the table lacks; a table that has them all is
    left alone. Publish mirrors marts_build's constraints into marts, so they must be there. -#}
{% macro ensure_contract_constraints() %}
    {%- if not execute or model.config.materialized != 'incremental' or not model.config.contract.enforced -%}
        {{ return('') }}
    {%- endif -%}
    {%- set statements = [] -%}
    {%- set not_null = run_query(
        "select attname from pg_attribute where attrelid = '" ~ this ~ "'::regclass and attnum > 0 and attnotnull"
    ).columns[0].values() -%}
    {%- set has_pk = run_query(
        "select count(*) from pg_constraint where conrelid = '" ~ this ~ "'::regclass and contype = 'p'"
    ).columns[0].values()[0] > 0 -%}
    {%- set primary_key = [] -%}
    {%- set foreign_keys = [] -%}
    {%- for constraint in model.constraints -%}
        {%- if constraint.type == 'primary_key' -%}
            {%- do primary_key.extend(constraint.columns) -%}
        {%- elif constraint.type == 'foreign_key' -%}
            {%- do foreign_keys.append((constraint.columns, constraint.to, constraint.to_columns)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name, column in model.columns.items() -%}
        {%- for constraint in column.constraints -%}
            {%- if constraint.type == 'not_null' and name not in not_null -%}
                {%- do statements.append('alter table ' ~ this ~ ' alter column ' ~ adapter.quote(name) ~ ' set not null') -%}
            {%- elif constraint.type == 'primary_key' -%}
                {%- do primary_key.append(name) -%}
            {%- elif constraint.type == 'foreign_key' -%}
                {%- do foreign_keys.append(([name], constraint.to, constraint.to_columns)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if primary_key and not has_pk -%}
        {%- do statements.append('alter table ' ~ this ~ ' add primary key (' ~ primary_key | join(', ') ~ ')') -%}
    {%- endif -%}
    {%- for columns, to, to_columns in foreign_keys -%}
        {%- set found = run_query(
            "select count(*) from pg_constraint as k where k.conrelid = '" ~ this ~ "'::regclass"
            ~ " and k.contype = 'f' and k.confrelid = '" ~ to ~ "'::regclass"
            ~ " and (select array_agg(a.attname::text order by a.attname) from pg_attribute as a"
            ~ " where a.attrelid = k.conrelid and a.attnum = any(k.conkey))"
            ~ " = array['" ~ (columns | sort | join("', '")) ~ "']::text[]"
        ).columns[0].values()[0] -%}
        {%- if found == 0 -%}
            {%- do statements.append(
                'alter table ' ~ this ~ ' add foreign key (' ~ columns | join(', ') ~ ') references '
                ~ to ~ ' (' ~ to_columns | join(', ') ~ ')'
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}
