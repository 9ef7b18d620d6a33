-- 0.2: the event log as the source of resume, and the latest event about each
-- thing an event describes (a monitor, a speed target, a custom topic).

-- What an event describes within its topic; empty for custom topics.
ALTER TABLE event_log ADD COLUMN key TEXT NOT NULL DEFAULT '';
UPDATE event_log SET key = coalesce(CASE topic
    WHEN 'probe' THEN json_extract(data, '$.monitor')
    WHEN 'speed' THEN json_extract(data, '$.target')
    WHEN 'live' THEN json_extract(data, '$.target')
END, '') WHERE json_valid(data);

-- Resume reads one topic's events after an id.
CREATE INDEX event_log_by_topic ON event_log (topic, id);

-- The newest event per (topic, key), however old: a monitor checked hourly
-- keeps its place on the page whatever else is published.
CREATE TABLE latest_event (
    topic  TEXT    NOT NULL,
    key    TEXT    NOT NULL,
    id     INTEGER NOT NULL,
    at_ms  INTEGER NOT NULL,
    data   TEXT    NOT NULL,
    PRIMARY KEY (topic, key)
) WITHOUT ROWID;
INSERT INTO latest_event (topic, key, id, at_ms, data)
    SELECT topic, key, id, at_ms, data FROM event_log AS e
    WHERE topic <> 'live' AND id = (SELECT max(id) FROM event_log WHERE topic = e.topic AND key = e.key);
-- `live` round trips are memory-only from now on.
DELETE FROM event_log WHERE topic = 'live';

-- Named integers about the log. `replayable_after`: every id above it that
-- was ever issued is in the log. 0.1 pruned with holes, so an upgraded log
-- is exact only from its newest id on.
CREATE TABLE log_meta (
    name   TEXT    PRIMARY KEY,
    value  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO log_meta (name, value) SELECT 'replayable_after', max(id) FROM event_log HAVING count(*) > 0;
