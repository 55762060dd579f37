/*
 * pg_schema.h — the PostgreSQL peer's schema and stored functions as one
 * SQL script (bench/pg/pg_schema.c), run by bench-pg before each run.
 */
#ifndef ONSALE_BENCH_PG_SCHEMA_H
#define ONSALE_BENCH_PG_SCHEMA_H

/* Drops and creates schema "onsale_peer": tables, indexes, functions. */
extern const char pg_schema_sql[];

#endif
