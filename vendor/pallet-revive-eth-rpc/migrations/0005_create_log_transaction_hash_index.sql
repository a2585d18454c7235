-- Verity: `eth_getTransactionReceipt` of a callback's synthetic transaction finds its block
-- through its logs (src/callback_logs.rs); without this index every unknown hash scanned them.
CREATE INDEX IF NOT EXISTS idx_logs_transaction_hash ON logs (transaction_hash);
