/*
 * pg_schema.c — the PostgreSQL peer's schema and stored functions
 * (bench/pg/bench-pg.c): what a team building ticket on-sales on
 * PostgreSQL would write. Every operation is one stored function called
 * through a prepared statement: one round trip, one transaction, committed
 * with synchronous_commit on. Schema "onsale_peer" is dropped and created
 * afresh for each run.
 *
 * GA stock is a counter row per (tier, bucket): a hold takes a bucket with
 * enough stock FOR UPDATE SKIP LOCKED (starting at a random bucket), so
 * concurrent holds decrement different rows and commit in the same WAL
 * flush instead of queueing on one row lock through every commit.
 *
 * Seats: seat_row is one row of the venue (tier, quality = row number in its
 * section, free seats) and the unit of locking. Best available takes the
 * best row with enough free seats FOR UPDATE SKIP LOCKED, reads its free
 * seats and picks the run of n adjacent seats nearest the centre; if the row
 * has no such run it moves on to the next row (at most ROW_TRIES rows, a
 * parameter). When every row left with enough free seats is locked by
 * other holds, it waits for them like a GA hold (below).
 * Every change of a seat from or to free holds its seat_row lock, so the
 * seats read are the seats updated.
 *
 * Lock order everywhere: hold row, stock bucket or seat_row, customer row,
 * seats. Holds create their hold row last and never wait for a bucket or a
 * seat row (SKIP LOCKED only; a hold that finds every bucket or row with
 * enough stock locked sleeps PG_BUSY_SLEEP_S and tries again, at most
 * PG_BUSY_TRIES times). A blocking FOR UPDATE of a bucket would deadlock: a locked row
 * that fails the recheck stays locked while the scan waits for the next.
 *
 * Return codes: a hold returns its id (> 0), -1 sold out / no adjacent
 * seats, -2 over the customer limit; confirm and release return the
 * quantity, -1 for an unknown or expired hold.
 */
#include "bench/pg/pg_schema.h"

/* A hold that finds every bucket or seat row with enough stock locked by
 * other transactions: retries, and the sleep before each (seconds). */
#define PG_BUSY_TRIES "200"
#define PG_BUSY_SLEEP_S "0.0005"

const char pg_schema_sql[] =
	"SET client_min_messages = warning;"
	"DROP SCHEMA IF EXISTS onsale_peer CASCADE;"
	"CREATE SCHEMA onsale_peer;"
	"SET search_path = onsale_peer;"

	"CREATE TABLE tier (id int PRIMARY KEY, price bigint NOT NULL, capacity int NOT NULL);"
	"CREATE TABLE stock (tier int NOT NULL, bucket int NOT NULL,"
	"  available int NOT NULL CHECK (available >= 0),"
	"  PRIMARY KEY (tier, bucket)) WITH (fillfactor = 20);"
	"CREATE TABLE customer_units (customer bigint PRIMARY KEY,"
	"  units int NOT NULL CHECK (units >= 0)) WITH (fillfactor = 70);"
	/* place: the stock bucket (GA) or the seat_row (seats) */
	"CREATE TABLE hold (id bigint PRIMARY KEY, tier int NOT NULL, place int NOT NULL,"
	"  customer bigint NOT NULL, qty int NOT NULL, seats int[],"
	"  expires_at timestamptz NOT NULL);"
	"CREATE SEQUENCE hold_id;"
	"CREATE INDEX hold_expiry ON hold (expires_at);"
	"CREATE TABLE orders (id bigint PRIMARY KEY, tier int NOT NULL, customer bigint NOT NULL,"
	"  qty int NOT NULL, amount bigint NOT NULL,"
	"  created_at timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE ticket (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  order_id bigint NOT NULL, seat_id int);"
	"CREATE INDEX ticket_order ON ticket (order_id);"
	"CREATE UNIQUE INDEX ticket_seat ON ticket (seat_id) WHERE seat_id IS NOT NULL;"
	"CREATE TABLE seat_row (id int PRIMARY KEY, tier int NOT NULL, quality int NOT NULL,"
	"  free int NOT NULL CHECK (free >= 0)) WITH (fillfactor = 50);"
	"CREATE INDEX seat_row_best ON seat_row (tier, quality, id) WHERE free > 0;"
	/* status: 0 free, 1 held, 2 sold; rank: distance from the row's centre */
	"CREATE TABLE seat (id int PRIMARY KEY, row_id int NOT NULL, num int NOT NULL,"
	"  tier int NOT NULL, rank int NOT NULL, status smallint NOT NULL DEFAULT 0)"
	"  WITH (fillfactor = 80);"
	"CREATE INDEX seat_in_row ON seat (row_id, num);"

	/* set-up (not measured) */
	"CREATE FUNCTION load_ga(p_units int, p_buckets int, p_price bigint) RETURNS void"
	" LANGUAGE sql AS $$"
	"  INSERT INTO tier VALUES (0, p_price, p_units);"
	"  INSERT INTO stock SELECT 0, b, p_units / p_buckets + (b < p_units % p_buckets)::int"
	"    FROM generate_series(0, p_buckets - 1) b;"
	"$$;"
	"CREATE FUNCTION load_seats(p_seats int, p_row_seats int, p_section_rows int,"
	"  p_tiers int, p_price bigint) RETURNS void LANGUAGE sql AS $$"
	"  INSERT INTO seat_row SELECT r, 1 + r::bigint * p_tiers / n, r % p_section_rows,"
	"    least(p_row_seats, p_seats - r * p_row_seats)"
	"    FROM (SELECT (p_seats + p_row_seats - 1) / p_row_seats AS n) c,"
	"    generate_series(0, c.n - 1) r;"
	"  INSERT INTO seat SELECT s, s / p_row_seats, s % p_row_seats + 1,"
	"    1 + (s / p_row_seats)::bigint * p_tiers / c.n,"
	"    abs(s % p_row_seats - p_row_seats / 2), 0"
	"    FROM (SELECT (p_seats + p_row_seats - 1) / p_row_seats AS n) c,"
	"    generate_series(0, p_seats - 1) s;"
	"  INSERT INTO tier SELECT k, p_price + 1000 * (p_tiers - k),"
	"    (SELECT count(*) FROM seat WHERE seat.tier = k) FROM generate_series(1, p_tiers) k;"
	"$$;"

	/* the customer's units: counted on every hold, capped when p_limit > 0 */
	"CREATE FUNCTION take_customer(p_customer bigint, p_qty int, p_limit int) RETURNS boolean"
	" LANGUAGE plpgsql AS $$"
	"BEGIN"
	"  INSERT INTO customer_units AS c VALUES (p_customer, p_qty)"
	"    ON CONFLICT (customer) DO UPDATE SET units = c.units + excluded.units"
	"    WHERE p_limit = 0 OR c.units + excluded.units <= p_limit;"
	"  RETURN FOUND;"
	"END $$;"

	"CREATE FUNCTION ga_hold(p_tier int, p_qty int, p_customer bigint, p_limit int,"
	"  p_ttl_ms int, p_start int) RETURNS bigint LANGUAGE plpgsql AS $$"
	"DECLARE b int; hid bigint;"
	"BEGIN"
	"  FOR attempt IN 1 .. " PG_BUSY_TRIES " LOOP"
	"    SELECT bucket INTO b FROM stock WHERE tier = p_tier AND bucket >= p_start"
	"      AND available >= p_qty ORDER BY bucket LIMIT 1 FOR UPDATE SKIP LOCKED;"
	"    IF NOT FOUND THEN"
	"      SELECT bucket INTO b FROM stock WHERE tier = p_tier AND available >= p_qty"
	"        ORDER BY bucket LIMIT 1 FOR UPDATE SKIP LOCKED;"
	"    END IF;"
	"    EXIT WHEN FOUND;"
	"    IF NOT EXISTS (SELECT 1 FROM stock WHERE tier = p_tier AND available >= p_qty) THEN"
	"      RETURN -1;"
	"    END IF;"
	"    PERFORM pg_sleep(" PG_BUSY_SLEEP_S ");" /* every bucket with stock is busy */
	"  END LOOP;"
	"  IF b IS NULL THEN RETURN -1; END IF;"
	"  IF NOT take_customer(p_customer, p_qty, p_limit) THEN RETURN -2; END IF;"
	"  UPDATE stock SET available = available - p_qty WHERE tier = p_tier AND bucket = b;"
	"  hid := nextval('hold_id');"
	"  INSERT INTO hold VALUES (hid, p_tier, b, p_customer, p_qty, NULL,"
	"    clock_timestamp() + p_ttl_ms * interval '1 millisecond');"
	"  RETURN hid;"
	"END $$;"

	"CREATE FUNCTION seat_hold(p_tier int, p_qty int, p_customer bigint, p_limit int,"
	"  p_ttl_ms int, p_max_rows int) RETURNS bigint LANGUAGE plpgsql AS $$"
	"DECLARE r record; nums int[]; ranks int[]; ids int[]; n int; run int; cost int;"
	"  best int; best_cost int; q int := -1; qid int := -1; hid bigint; rows int := 0;"
	"  busy int := 0;"
	"BEGIN"
	"  WHILE rows < p_max_rows LOOP"
	"    SELECT id, quality INTO r FROM seat_row WHERE tier = p_tier AND free > 0"
	"      AND free >= p_qty AND (quality, id) > (q, qid)"
	"      ORDER BY quality, id LIMIT 1 FOR UPDATE SKIP LOCKED;"
	"    IF NOT FOUND THEN" /* the rows left with enough seats are all busy? */
	"      IF busy >= " PG_BUSY_TRIES " OR NOT EXISTS (SELECT 1 FROM seat_row"
	"          WHERE tier = p_tier AND free > 0 AND free >= p_qty AND (quality, id) > (q, qid))"
	"      THEN"
	"        RETURN -1;"
	"      END IF;"
	"      busy := busy + 1;"
	"      PERFORM pg_sleep(" PG_BUSY_SLEEP_S ");"
	"      CONTINUE;"
	"    END IF;"
	"    rows := rows + 1;"
	"    SELECT array_agg(num ORDER BY num), array_agg(rank ORDER BY num) INTO nums, ranks"
	"      FROM seat WHERE row_id = r.id AND status = 0;"
	"    n := coalesce(array_length(nums, 1), 0); run := 0; best := 0; best_cost := NULL;"
	"    FOR i IN 1 .. n LOOP"
	"      IF i > 1 AND nums[i] = nums[i - 1] + 1 THEN run := run + 1; ELSE run := 1; END IF;"
	"      IF run >= p_qty THEN"
	"        cost := 0;"
	"        FOR k IN i - p_qty + 1 .. i LOOP cost := cost + ranks[k]; END LOOP;"
	"        IF best_cost IS NULL OR cost < best_cost THEN"
	"          best_cost := cost; best := nums[i - p_qty + 1];"
	"        END IF;"
	"      END IF;"
	"    END LOOP;"
	"    IF best_cost IS NOT NULL THEN"
	"      IF NOT take_customer(p_customer, p_qty, p_limit) THEN RETURN -2; END IF;"
	"      hid := nextval('hold_id');"
	"      WITH u AS (UPDATE seat SET status = 1 WHERE row_id = r.id"
	"          AND num BETWEEN best AND best + p_qty - 1 AND status = 0 RETURNING id)"
	"        SELECT array_agg(id ORDER BY id) INTO ids FROM u;"
	"      IF coalesce(array_length(ids, 1), 0) <> p_qty THEN"
	"        RAISE EXCEPTION 'seat_hold: row % changed under its lock', r.id;"
	"      END IF;"
	"      UPDATE seat_row SET free = free - p_qty WHERE id = r.id;"
	"      INSERT INTO hold VALUES (hid, p_tier, r.id, p_customer, p_qty, ids,"
	"        clock_timestamp() + p_ttl_ms * interval '1 millisecond');"
	"      RETURN hid;"
	"    END IF;"
	"    q := r.quality; qid := r.id;"
	"  END LOOP;"
	"  RETURN -1;"
	"END $$;"

	"CREATE FUNCTION confirm_hold(p_hold bigint) RETURNS int LANGUAGE plpgsql AS $$"
	"DECLARE h hold;"
	"BEGIN"
	"  DELETE FROM hold WHERE id = p_hold AND expires_at > clock_timestamp()"
	"    RETURNING * INTO h;"
	"  IF NOT FOUND THEN RETURN -1; END IF;"
	"  INSERT INTO orders (id, tier, customer, qty, amount) VALUES (h.id, h.tier, h.customer,"
	"    h.qty, h.qty * (SELECT price FROM tier WHERE id = h.tier));"
	"  IF h.seats IS NULL THEN"
	"    INSERT INTO ticket (order_id) SELECT h.id FROM generate_series(1, h.qty);"
	"  ELSE"
	"    UPDATE seat SET status = 2 WHERE id = ANY (h.seats);"
	"    INSERT INTO ticket (order_id, seat_id) SELECT h.id, unnest(h.seats);"
	"  END IF;"
	"  RETURN h.qty;"
	"END $$;"

	/* gives a deleted hold's units back (release and expiry) */
	"CREATE FUNCTION give_back(h hold) RETURNS void LANGUAGE plpgsql AS $$"
	"BEGIN"
	"  IF h.seats IS NULL THEN"
	"    UPDATE stock SET available = available + h.qty"
	"      WHERE tier = h.tier AND bucket = h.place;"
	"    UPDATE customer_units SET units = units - h.qty WHERE customer = h.customer;"
	"  ELSE"
	"    UPDATE seat_row SET free = free + h.qty WHERE id = h.place;"
	"    UPDATE customer_units SET units = units - h.qty WHERE customer = h.customer;"
	"    UPDATE seat SET status = 0 WHERE id = ANY (h.seats);"
	"  END IF;"
	"END $$;"

	"CREATE FUNCTION release_hold(p_hold bigint) RETURNS int LANGUAGE plpgsql AS $$"
	"DECLARE h hold;"
	"BEGIN"
	"  DELETE FROM hold WHERE id = p_hold RETURNING * INTO h;"
	"  IF NOT FOUND THEN RETURN -1; END IF;"
	"  PERFORM give_back(h);"
	"  RETURN h.qty;"
	"END $$;"

	/* the expiry sweep, run every second by the bench's main thread */
	"CREATE FUNCTION expire_holds(p_max int) RETURNS int LANGUAGE plpgsql AS $$"
	"DECLARE h hold; n int := 0;"
	"BEGIN"
	"  FOR h IN SELECT * FROM hold WHERE expires_at <= clock_timestamp()"
	"      ORDER BY expires_at LIMIT p_max FOR UPDATE SKIP LOCKED LOOP"
	"    DELETE FROM hold WHERE id = h.id;"
	"    PERFORM give_back(h);"
	"    n := n + 1;"
	"  END LOOP;"
	"  RETURN n;"
	"END $$;";
