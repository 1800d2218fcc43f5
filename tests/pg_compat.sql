-- tests/pg_compat.sql: the few SQLite functions the tests' own queries use
-- (tests/lib.sh: sql), for the test databases on PostgreSQL. Not part of
-- the product: understudy's own SQL needs none of them.
CREATE FUNCTION concat_step(acc text, v text, sep text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL THEN v ELSE acc || sep || v END $$;
CREATE FUNCTION concat_step(acc text, v text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT concat_step(acc, v, ',') $$;
CREATE FUNCTION concat_step(acc text, v anynonarray) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT concat_step(acc, CASE WHEN v IS NULL THEN NULL WHEN pg_typeof(v) = 'boolean'::regtype
	                                  THEN CASE WHEN v::text = 'true' THEN '1' ELSE '0' END ELSE v::text END, ',') $$;
CREATE FUNCTION concat_step(acc text, v anynonarray, sep text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT concat_step(acc, v::text, sep) $$;
CREATE AGGREGATE group_concat(text, text) (SFUNC = concat_step, STYPE = text);
CREATE AGGREGATE group_concat(anynonarray, text) (SFUNC = concat_step, STYPE = text);
CREATE AGGREGATE group_concat(text) (SFUNC = concat_step, STYPE = text);
CREATE AGGREGATE group_concat(anynonarray) (SFUNC = concat_step, STYPE = text);
CREATE FUNCTION json_valid(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	PERFORM t::json;
	RETURN true;
EXCEPTION WHEN others THEN
	RETURN false;
END $$;
CREATE FUNCTION json_extract(t text, path text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN path = '$' THEN t::json #>> '{}' END $$;
CREATE FUNCTION quote(t text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN t IS NULL THEN 'NULL' ELSE quote_literal(t) END $$;
