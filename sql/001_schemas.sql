-- Two schemas. `tandem` holds everything a passive site must receive and is
-- replicated; `tandem_site` holds what belongs to one site only (the
-- migrations ledger, the site's role, members' heartbeats, replication
-- progress) and is never replicated.
create schema if not exists tandem;
create schema if not exists tandem_site;
