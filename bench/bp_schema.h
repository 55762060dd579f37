/*
 * bp_schema.h — the PostgreSQL peer's schema and stored functions as one
 * SQL script (bench/bp_schema.c), run by bench-pg before each run.
 */
#ifndef BP_SCHEMA_H
#define BP_SCHEMA_H

/* Drops and creates schema "onsale_peer": tables, indexes, functions. */
extern const char bp_schema_sql[];

#endif
