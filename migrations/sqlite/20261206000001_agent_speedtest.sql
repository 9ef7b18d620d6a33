-- Where an agent serves `/speedtest` for other nodes, as it said when it last opened its stream; NULL when it serves none.
ALTER TABLE agent_node ADD COLUMN speedtest_url TEXT;
