using Gateway.Aspire.Accounting.Data;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Tests.Ledger;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Gateway.Aspire.Accounting.Tests.Data;

public sealed class AccountingMigrationsTests(PostgresServerFixture postgres)
{
    [Fact]
    public async Task Version2_AppliesOnALedgerVersion1Filled_AndKeepsItsRows()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await postgres.CreateDatabaseAsync("accounting");
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            // The ledger as a service of version 1 left it: its schema and one row it wrote.
            await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance)
                .MigrateAsync(AccountingMigrations.Schema, [.. AccountingMigrations.All.Where(m => m.Version == 1)], ct);
            await using var insert = dataSource.CreateCommand("""
                INSERT INTO accounting.ledger (request_id, started_at, recorded_at, token_id, token_name, requested_model, served_model,
                    provider, prompt_tokens, completion_tokens, cached_tokens, cost_usd, latency_ms, ttft_ms, status_code, error_type, streamed)
                VALUES ('before', now(), now(), NULL, NULL, 'mock/gpt-4o-mini', 'mock/gpt-4o-mini',
                    'openai-compatible', 1000, 500, 200, 0.000435, 12.5, NULL, 200, NULL, false)
                """);
            await insert.ExecuteNonQueryAsync(ct);
        }

        // The service migrates at start.
        // The clock of the records written (2025-06-01): with the real clock, retention could drop their day at once.
        await using var host = await AccountingTestHost.StartAsync(database, new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 1, TimeSpan.Zero)));
        var retry = LedgerEntryTests.Valid("after");
        retry.ParentRequestId = "before"; // a router retry: its own row, linked to the first attempt
        var reply = await host.Ledger.RecordAsync(new RecordUsageRequest { Records = { retry } }, cancellationToken: ct);

        Assert.Equal(1, reply.Written);
        Assert.Equal(string.Join(',', AccountingMigrations.All.Select(m => m.Version)), await PostgresServerFixture.ScalarAsync<string>(database,
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM accounting.schema_migrations"));
        Assert.Equal(
            "cache_write_tokens integer NO 0|reasoning_tokens integer NO 0|usage_estimated boolean NO false",
            await PostgresServerFixture.ScalarAsync<string>(database, """
                SELECT string_agg(concat_ws(' ', column_name, data_type, is_nullable, column_default), '|' ORDER BY column_name)
                FROM information_schema.columns
                WHERE table_schema = 'accounting' AND table_name = 'ledger'
                    AND column_name IN ('cache_write_tokens', 'reasoning_tokens', 'usage_estimated')
                """));
        Assert.Equal("before|0|0|f|f", await PostgresServerFixture.ScalarAsync<string>(database,
            "SELECT concat_ws('|', request_id, cache_write_tokens, reasoning_tokens, usage_estimated, cache_hit) FROM accounting.ledger WHERE request_id = 'before'"));
        Assert.Equal("before:null|after:before", await PostgresServerFixture.ScalarAsync<string>(database,
            "SELECT string_agg(request_id || ':' || coalesce(parent_request_id, 'null'), '|' ORDER BY request_id DESC) FROM accounting.ledger"));
    }

    [Fact]
    public async Task Version10_PartitionsALedgerWithRows_KeepsThemAndTheirIndexes_AndBuildsTheTotals()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await postgres.CreateDatabaseAsync("accounting");
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            // The ledger as versions before 10 left it: two days of rows, and a secondary index some
            // earlier migration added (it must come back on the partitioned table).
            await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance)
                .MigrateAsync(AccountingMigrations.Schema, [.. AccountingMigrations.All.Where(m => m.Version < 10)], ct);
            await using var insert = dataSource.CreateCommand("""
                INSERT INTO accounting.ledger (request_id, started_at, recorded_at, token_id, token_name, requested_model, served_model,
                    provider, prompt_tokens, completion_tokens, cached_tokens, cost_usd, latency_ms, ttft_ms, status_code, error_type, streamed)
                VALUES ('old-1', '2025-05-30 23:59:59+00', now(), NULL, 'ci', 'mock/a', 'mock/a', 'openai', 10, 5, 0, 0.25, 1, NULL, 200, NULL, false),
                       ('old-2', '2025-05-31 00:00:00+00', now(), NULL, 'ci', 'mock/a', 'mock/a', 'openai', 20, 5, 0, 0.5, 1, NULL, 500, 'api_error', false),
                       ('old-3', '2025-05-31 00:30:00+00', now(), NULL, 'ci', 'mock/b', 'mock/b', 'openai', 30, 5, 0, 0.75, 1, NULL, 200, NULL, false);
                CREATE INDEX ledger_token_name ON accounting.ledger (token_name);
                """);
            await insert.ExecuteNonQueryAsync(ct);
        }

        // A clock within retention of those rows (retention would otherwise drop their days at start).
        await using var host = await AccountingTestHost.StartAsync(database, new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero)));

        Assert.Equal("old-1 accounting.ledger_p20250530|old-2 accounting.ledger_p20250531|old-3 accounting.ledger_p20250531", await PostgresServerFixture.ScalarAsync<string>(database,
            "SELECT string_agg(request_id || ' ' || tableoid::regclass::text, '|' ORDER BY request_id) FROM accounting.ledger"));
        Assert.Equal("p", await PostgresServerFixture.ScalarAsync<string>(database,
            "SELECT relkind::text FROM pg_class WHERE oid = 'accounting.ledger'::regclass"));
        Assert.Equal("request_id,started_at", await PostgresServerFixture.ScalarAsync<string>(database, """
            SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index AS i
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = 'accounting.ledger'::regclass AND i.indisprimary
            """));
        Assert.Equal(1L, await PostgresServerFixture.ScalarAsync<long>(database,
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'accounting' AND indexname = 'ledger_token_name' AND tablename = 'ledger'"));
        // Totals per hour: model mock/a has one call at 23:00 on the 30th and one (an error) at 00:00 on the 31st.
        Assert.Equal("2025-05-30 23:00:00+00 1 0 0.25|2025-05-31 00:00:00+00 1 1 0.5", await PostgresServerFixture.ScalarAsync<string>(database, """
            SET TIME ZONE 'UTC';
            SELECT string_agg(concat_ws(' ', bucket_start, requests, errors, trim_scale(cost_usd)), '|' ORDER BY bucket_start)
            FROM (SELECT bucket_start, sum(requests) AS requests, sum(errors) AS errors, sum(cost_usd) AS cost_usd
                FROM accounting.usage_totals WHERE dimension = 'route' AND grain = 'hour' AND team = '' AND (value::jsonb) ->> 0 = 'mock/a'
                GROUP BY bucket_start) AS t
            """));
    }
}
