using Gateway.Aspire.Accounting.Data;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Tests.Ledger;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
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
        await using var host = await AccountingTestHost.StartAsync(database);
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
}
