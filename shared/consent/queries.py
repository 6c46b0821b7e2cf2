"""Every statement against `consent_ledger`, `contact_subscriptions` and `suppressions`, by name.

Listmonk-style: whoever changes one of these tables reads here what reads and writes it. Statements
that span other tables too (a contact view, the grouped sign-up write) live here as well. The texts
are the services' own, unchanged: asyncpg caches prepared statements by their exact text.
"""

from __future__ import annotations

# ---- consent_ledger: append-only proof of consent (erasure may blank its personal details) ----

# One entry of a sign-up's consent; a retried event writes it once.
RECORD_SIGNUP_CONSENT = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, policy_version, occurred_at, dedupe_key, origin,
   text_shown)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
RECORD_API_CHANGE = """
INSERT INTO consent_ledger (workspace_id, contact_id, action, scope, source, policy_version, occurred_at, dedupe_key)
VALUES ($1, $2, $3, $4, $5, $6, now(), $7)
"""
# The person's own opt-out or re-grant of all marketing, with the request's IP and user agent.
RECORD_MARKETING_CHOICE = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, occurred_at, dedupe_key)
VALUES ($1, $2, $3, '*', $4, $5, $6, now(), $7)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
RECORD_TOPIC_CHOICE = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, occurred_at, dedupe_key)
VALUES ($1, $2, $3, $4, 'preferences', $5, $6, now(), $7)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
RECORD_CONFIRMATIONS = """
INSERT INTO consent_ledger
  (workspace_id, contact_id, action, scope, source, ip, user_agent, occurred_at, dedupe_key)
SELECT $1, $2, 'confirm', topic, 'double_opt_in', $3, $4, now(), 'confirm:' || $5 || ':' || topic
FROM unnest($6::text[]) AS topic
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
RECORD_EXPIRIES = """
INSERT INTO consent_ledger (workspace_id, contact_id, action, scope, source, occurred_at, dedupe_key)
SELECT w, c, 'expire', t, 'double_opt_in', $4, 'expire:' || t || ':' || e
FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS x(w, c, t, e)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
# A flow's sunset policy (an `update_contact` step's `unsubscribe`): the step's reason is the source; a replayed
# step writes it once.
RECORD_FLOW_WITHDRAWAL = """
INSERT INTO consent_ledger (workspace_id, contact_id, action, scope, source, occurred_at, dedupe_key)
VALUES ($1, $2, 'withdraw', $3, $4, $5, $6)
ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
"""
CONSENT_HISTORY = (
    "SELECT action, scope, source, ip, user_agent, policy_version, text_shown, occurred_at, recorded_at "
    "FROM consent_ledger "
    "WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id"
)
# Erasure: the proof stays (an auditor may ask why someone was mailed), its personal details go.
# Allowed by the append-only trigger only under `SET LOCAL dripline.erasure = 'on'`.
BLANK_LEDGER_PROOF = (
    'UPDATE "consent_ledger" SET "ip" = NULL, "user_agent" = NULL WHERE workspace_id = $1 AND contact_id = $2'
)

# Retention: the evidence (IP network, user agent) of entries past DRIPLINE_CONSENT_EVIDENCE_RETENTION_DAYS goes,
# a slice at a time; the entries stay. Like erasure, allowed only under `SET LOCAL dripline.erasure = 'on'`.
BLANK_OLD_EVIDENCE = """
UPDATE consent_ledger SET ip = NULL, user_agent = NULL
WHERE id IN (
    SELECT id FROM consent_ledger WHERE recorded_at < $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL) LIMIT $2
)
"""

# ---- contact_subscriptions: each contact's state per topic (`*` is marketing as a whole) ----

# A confirmed subscription is never set back to pending by a repeated sign-up.
SUBSCRIBE_AT_SIGNUP = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status, expires_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (workspace_id, contact_id, topic) DO UPDATE
SET status = EXCLUDED.status, expires_at = EXCLUDED.expires_at, updated_at = now()
WHERE contact_subscriptions.status <> 'subscribed'
RETURNING topic
"""
SET_SUBSCRIPTION = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, $3, $4)
ON CONFLICT (workspace_id, contact_id, topic)
DO UPDATE SET status = EXCLUDED.status, expires_at = NULL, updated_at = now()
"""
SET_MARKETING_SUBSCRIPTION = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, '*', $3)
ON CONFLICT (workspace_id, contact_id, topic)
DO UPDATE SET status = EXCLUDED.status, expires_at = NULL, updated_at = now()
"""
# Returns the topic only when its status changed, so an unchanged choice leaves no ledger entry.
CHOOSE_TOPIC = """
INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status) VALUES ($1, $2, $3, $4)
ON CONFLICT (workspace_id, contact_id, topic)
DO UPDATE SET status = EXCLUDED.status, expires_at = NULL, updated_at = now()
WHERE contact_subscriptions.status IS DISTINCT FROM EXCLUDED.status
RETURNING topic
"""
# Only sign-ups still inside their confirmation window; the scheduler expires the others.
CONFIRM_PENDING = """
UPDATE contact_subscriptions SET status = 'subscribed', expires_at = NULL, updated_at = now()
WHERE workspace_id = $1 AND contact_id = $2 AND status = 'pending' AND (expires_at IS NULL OR expires_at > now())
RETURNING topic
"""
EXPIRE_UNCONFIRMED = """
WITH due AS (
    SELECT workspace_id, contact_id, topic FROM contact_subscriptions
    WHERE status = 'pending' AND expires_at <= $1
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
UPDATE contact_subscriptions s SET status = 'expired', updated_at = now()
FROM due WHERE s.workspace_id = due.workspace_id AND s.contact_id = due.contact_id AND s.topic = due.topic
RETURNING s.workspace_id, s.contact_id, s.topic, s.expires_at
"""
MARKETING_STATUS = (
    "SELECT status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2 AND topic = '*'"
)
SUBSCRIPTIONS = "SELECT topic, status FROM contact_subscriptions WHERE workspace_id = $1 AND contact_id = $2"
SUBSCRIPTIONS_IN_DETAIL = (
    "SELECT topic, status, expires_at, updated_at FROM contact_subscriptions "
    "WHERE workspace_id = $1 AND contact_id = $2 ORDER BY topic"
)

# Reports: contacts by channel and status; email counts `*` where no email row was ever written.
CHANNEL_COUNTS = """
SELECT 'email' AS channel, coalesce(e.status, s.status) AS status, count(*) AS contacts
FROM contact_subscriptions s
LEFT JOIN contact_subscriptions e
  ON e.workspace_id = s.workspace_id AND e.contact_id = s.contact_id AND e.topic = 'channel:email'
WHERE s.workspace_id = $1 AND s.topic = '*'
GROUP BY 2
UNION ALL
SELECT substr(topic, 9), status, count(*) FROM contact_subscriptions
WHERE workspace_id = $1 AND topic LIKE 'channel:%' AND topic <> 'channel:email'
GROUP BY 1, 2
"""

# ---- suppressions: keyed by a hash of the address, so they outlive the contact; they stop mail ----

# A repeat keeps the first row (and its time), which is what makes unsubscribing idempotent.
SUPPRESS_FIRST = """
WITH added AS (
    INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING created_at
)
SELECT created_at FROM added
UNION ALL
SELECT created_at FROM suppressions WHERE workspace_id = $1 AND address_hash = $2 AND scope = $3
LIMIT 1
"""
SUPPRESS_MARKETING_BY_API = (
    "INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source) "
    "VALUES ($1, $2, 'marketing', 'unsubscribed', 'api') ON CONFLICT DO NOTHING"
)
SUPPRESS_EVERYTHING = (
    "INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source) "
    "VALUES ($1, $2, 'all', $3, $4) ON CONFLICT DO NOTHING"
)
SUPPRESS_ERASED = (
    "INSERT INTO suppressions (workspace_id, address_hash, scope, reason, source) "
    "VALUES ($1, $2, 'all', $3, 'erasure') ON CONFLICT (workspace_id, address_hash, scope) "
    "DO UPDATE SET reason = EXCLUDED.reason"
)
# Only the person's own opt-out is theirs to undo; bounces and complaints are scope `all`.
LIFT_OWN_OPT_OUT = """
DELETE FROM suppressions
WHERE workspace_id = $1 AND address_hash = $2 AND scope = 'marketing' AND reason = 'unsubscribed'
RETURNING created_at
"""
LIFT_OPT_OUT_BY_API = (
    "DELETE FROM suppressions WHERE workspace_id = $1 AND address_hash = $2 "
    "AND scope = 'marketing' AND reason = 'unsubscribed'"
)
SUPPRESSION_SCOPES = "SELECT scope, reason FROM suppressions WHERE workspace_id = $1 AND address_hash = $2"
SUPPRESSION_REASONS = "SELECT reason, scope FROM suppressions WHERE workspace_id = $1 AND address_hash = $2"
SUPPRESSION_REASONS_AMONG = """
SELECT workspace_id, address_hash, reason FROM suppressions
WHERE workspace_id = ANY($1::text[]) AND address_hash = ANY($2::bytea[])
"""
# The sender's batch lookup: (workspace, hash) pairs, so addresses of many workspaces take one round trip.
SUPPRESSION_SCOPES_AMONG = """
SELECT s.workspace_id, s.address_hash, s.scope FROM suppressions s
JOIN unnest($1::text[], $2::bytea[]) AS k(workspace_id, address_hash)
  ON s.workspace_id = k.workspace_id AND s.address_hash = k.address_hash
"""
SUPPRESSED_EVERYWHERE_AMONG = (
    "SELECT address_hash FROM suppressions WHERE workspace_id = $1 AND address_hash = ANY($2::bytea[]) "
    "AND scope = 'all'"
)

# A person's data export: the suppressions of the identifiers their contact holds (why mail to them stops).
SUPPRESSIONS_OF = (
    "SELECT scope, reason, source, created_at FROM suppressions WHERE workspace_id = $1 "
    "AND address_hash = ANY($2::bytea[]) ORDER BY created_at, scope"
)
# Erased identifiers (any kind: email, phone, the shop's id) among these hashes: ingest drops what names them.
ERASED_AMONG = (
    "SELECT DISTINCT address_hash FROM suppressions WHERE workspace_id = $1 AND address_hash = ANY($2::bytea[]) "
    "AND reason = 'erased'"
)
# Re-keying (`shared/identity_keys.py`): every row's hash, then the new hashes by primary key.
SUPPRESSION_HASHES = "SELECT workspace_id, scope AS part, address_hash AS old FROM suppressions"
REKEY_SUPPRESSIONS = """
UPDATE suppressions t SET address_hash = m.new
FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[]) AS m(w, part, old, new)
WHERE t.workspace_id = m.w AND t.scope = m.part AND t.address_hash = m.old
"""

# ---- statements that span other tables as well ----

# A group of sign-ups in one statement: identities, profiles, ledger and subscriptions. Unless every
# identifier it must claim is claimed here (another writer may have been first), nothing of the
# statement is kept. A confirmed subscription is never set back to pending by a repeated sign-up.
# The one row of `won` keeps the answer from being empty.
WRITE_CONTACT_GROUP = """
WITH claimed AS (
  INSERT INTO contact_identities (workspace_id, kind, value_hash, contact_id)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[])
  ON CONFLICT DO NOTHING
  RETURNING value_hash
), profiles AS (
  INSERT INTO contacts (workspace_id, contact_id, profile)
  SELECT w, c, p::jsonb FROM unnest($5::text[], $6::text[], $7::text[]) AS t(w, c, p)
  ON CONFLICT (workspace_id, contact_id) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now()
), ledger AS (
  INSERT INTO consent_ledger
    (workspace_id, contact_id, action, scope, source, ip, user_agent, policy_version, occurred_at, dedupe_key, origin,
     text_shown)
  SELECT * FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
                       $15::text[], $16::timestamptz[], $17::text[], $18::text[], $19::text[])
  ON CONFLICT ON CONSTRAINT consent_ledger_once DO NOTHING
), subscribed AS (
  INSERT INTO contact_subscriptions (workspace_id, contact_id, topic, status, expires_at)
  SELECT * FROM unnest($20::text[], $21::text[], $22::text[], $23::text[], $24::timestamptz[])
  ON CONFLICT (workspace_id, contact_id, topic) DO UPDATE
  SET status = EXCLUDED.status, expires_at = EXCLUDED.expires_at, updated_at = now()
  WHERE contact_subscriptions.status <> 'subscribed'
  RETURNING workspace_id, contact_id, topic
), won AS (
  SELECT run_again_unless(count(*) = cardinality($25::bytea[]), 'a new contact''s identifier was claimed first') AS ok
  FROM claimed WHERE value_hash = ANY($25::bytea[])
)
SELECT won.ok, s.workspace_id, s.contact_id, s.topic FROM won LEFT JOIN subscribed s ON true
"""
SUBSCRIPTIONS_AND_SEGMENTS = """
SELECT (SELECT jsonb_object_agg(topic, status) FROM contact_subscriptions
        WHERE workspace_id = $1 AND contact_id = $2) AS subscriptions,
       (SELECT array_agg(segment_id) FROM segment_members
        WHERE workspace_id = $1 AND contact_id = $2) AS segments
"""
# Flows' view of a batch of contacts. Each contact's rows are looked up by key (`LATERAL ... OFFSET 0`,
# which the planner cannot flatten into a join): a plain join lets it hash a scan of the whole table
# instead, its choice once a table holds some tens of thousands of rows, and then every batch reads
# every contact's rows.
CONTACT_VIEWS = """
SELECT k.w, k.c, p.profile, f.signed_up_at,
       (SELECT jsonb_object_agg(topic, status) FROM contact_subscriptions s
        WHERE s.workspace_id = k.w AND s.contact_id = k.c) AS subscriptions,
       (SELECT array_agg(segment_id) FROM segment_members m
        WHERE m.workspace_id = k.w AND m.contact_id = k.c) AS segments
FROM unnest($1::text[], $2::text[]) AS k(w, c)
LEFT JOIN LATERAL (
    SELECT profile FROM contacts WHERE workspace_id = k.w AND contact_id = k.c OFFSET 0
) AS p ON true
LEFT JOIN LATERAL (
    SELECT signed_up_at FROM flow_contacts WHERE workspace_id = k.w AND contact_id = k.c OFFSET 0
) AS f ON true
"""
# The sender's readers: profile, subscriptions, the first grant of all marketing (the footer's proof) and
# the promises of how often of the topics they are subscribed or signing up to.
READERS = """
SELECT k.workspace_id, k.contact_id, c.profile,
       (SELECT json_object_agg(s.topic, s.status) FROM contact_subscriptions s
         WHERE s.workspace_id = k.workspace_id AND s.contact_id = k.contact_id) AS subscriptions,
       (SELECT json_object_agg(t.topic, t.promise -> 'text') FROM contact_subscriptions s
          JOIN subscription_topics t ON t.workspace_id = s.workspace_id AND t.topic = s.topic
         WHERE s.workspace_id = k.workspace_id AND s.contact_id = k.contact_id
           AND s.status IN ('pending', 'subscribed') AND t.promise IS NOT NULL) AS promises,
       g.occurred_at AS signed_up_at, g.origin AS signed_up_via
FROM unnest($1::text[], $2::text[]) AS k(workspace_id, contact_id)
JOIN contacts c ON c.workspace_id = k.workspace_id AND c.contact_id = k.contact_id
LEFT JOIN LATERAL (
    SELECT l.occurred_at, coalesce(l.origin, l.source) AS origin FROM consent_ledger l
    WHERE l.workspace_id = k.workspace_id AND l.contact_id = k.contact_id AND l.action = 'grant' AND l.scope = '*'
    ORDER BY l.id LIMIT 1
) g ON true
"""

# ---- readers outside the services' own paths ----

# A topic's subscribers as a subquery of a larger set-based statement (a broadcast's audience, batch by
# batch in contact id order): $1 the workspace, $2 the topic ('*' for all marketing). The caller
# embeds it through `store.topic_subscribers_subquery`, which renumbers the two parameters.
TOPIC_SUBSCRIBERS = (
    "SELECT contact_id FROM contact_subscriptions WHERE workspace_id = $1 AND topic = $2 AND status = 'subscribed'"
)
# A day's mail, bounces, complaints and the readers' own unsubscribes per workspace and receiving domain
# (the deliverability rates): $1..$2 the day, $3 one workspace or all, $4 the sources that count as the
# reader's own unsubscribe.
# `later`: bounces a provider reported after accepting the mail (webhook, bounce mail), on the day they came;
# the sender's own hard bounces are in the ledger already (their suppression's source is the message).
DAILY_FEEDBACK = """
WITH sends AS (
  SELECT l.workspace_id, lower(split_part(c.profile->>'email', '@', 2)) AS domain,
         count(*) FILTER (WHERE l.state IN ('sent', 'bounced')) AS sent,
         count(*) FILTER (WHERE l.state = 'bounced') AS bounced
  FROM send_ledger l JOIN contacts c ON c.workspace_id = l.workspace_id AND c.contact_id = l.contact_id
  WHERE l.channel = 'email' AND l.updated_at >= $1 AND l.updated_at < $2 AND ($3::text IS NULL OR l.workspace_id = $3)
  GROUP BY 1, 2
), later AS (
  SELECT s.workspace_id, lower(split_part(c.profile->>'email', '@', 2)) AS domain, count(*) AS bounced
  FROM suppressions s
  JOIN contact_identities i ON i.workspace_id = s.workspace_id AND i.kind = 'email' AND i.value_hash = s.address_hash
  JOIN contacts c ON c.workspace_id = i.workspace_id AND c.contact_id = i.contact_id
  WHERE s.reason = 'bounced' AND s.source NOT LIKE 'message:%' AND s.created_at >= $1 AND s.created_at < $2
    AND ($3::text IS NULL OR s.workspace_id = $3)
  GROUP BY 1, 2
), feedback AS (
  SELECT f.workspace_id, lower(split_part(c.profile->>'email', '@', 2)) AS domain,
         count(*) FILTER (WHERE f.source = 'complaint') AS complained,
         count(*) FILTER (WHERE f.source = ANY($4::text[])) AS unsubscribed
  FROM consent_ledger f JOIN contacts c ON c.workspace_id = f.workspace_id AND c.contact_id = f.contact_id
  WHERE f.action = 'withdraw' AND f.occurred_at >= $1 AND f.occurred_at < $2
    AND ($3::text IS NULL OR f.workspace_id = $3)
  GROUP BY 1, 2
)
SELECT coalesce(s.workspace_id, l.workspace_id, f.workspace_id) AS workspace_id,
       coalesce(s.domain, l.domain, f.domain) AS domain,
       coalesce(s.sent, 0) AS sent, coalesce(s.bounced, 0) + coalesce(l.bounced, 0) AS bounced,
       coalesce(f.complained, 0) AS complained, coalesce(f.unsubscribed, 0) AS unsubscribed
FROM sends s
FULL JOIN later l ON l.workspace_id = s.workspace_id AND l.domain = s.domain
FULL JOIN feedback f ON f.workspace_id = coalesce(s.workspace_id, l.workspace_id)
                    AND f.domain = coalesce(s.domain, l.domain)
WHERE coalesce(s.domain, l.domain, f.domain) <> ''
ORDER BY 1, 3 DESC, 2
"""
