-- Identity-verification vendor results arrive by signed webhook (issue 5). Each delivery id is
-- applied once: a retry or a replay of the same delivery changes nothing.
CREATE TABLE vendor_deliveries (
    vendor      TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (vendor, delivery_id)
);
