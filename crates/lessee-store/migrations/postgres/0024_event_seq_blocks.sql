-- Each ingested batch takes one contiguous range of sequence numbers, so its keys can be
-- copied from its rows by range (`INSERT ... SELECT ... WHERE seq BETWEEN`): one `nextval`
-- now reserves 65,536 numbers (a batch is at most 50,000 events). Numbers already drawn are
-- all below the next one, so nothing is reused.
ALTER SEQUENCE access_event_seq INCREMENT BY 65536;
