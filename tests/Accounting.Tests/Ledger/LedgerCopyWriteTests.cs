using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

/// <summary>The COPY write method (not the default) keeps the same guarantees: one row per record, totals counted once.</summary>
public sealed class LedgerCopyWriteTests(PostgresServerFixture postgres)
{
    [Fact]
    public async Task OverlappingAndRepeatedBatches_WriteEachRowOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await postgres.CreateDatabaseAsync("accounting");
        await using var host = await AccountingTestHost.StartAsync(database, new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 1, TimeSpan.Zero)),
            new Dictionary<string, string?> { ["Accounting:Ledger:WriteMethod"] = "Copy" });
        var records = Enumerable.Range(0, 30).Select(i => LedgerEntryTests.Valid($"copy-{i}")).ToList();
        records[3].Metadata["project"] = "search";
        records[4].Guardrails.Add(new GuardrailFinding { Rule = "safety", Check = "moderation", Category = "violence", Action = "flag", Count = 1, Stage = "output" });

        var first = await host.Ledger.RecordAsync(new RecordUsageRequest { Records = { records.Take(20) } }, cancellationToken: ct);
        var second = await host.Ledger.RecordAsync(new RecordUsageRequest { Records = { records.Skip(10) } }, cancellationToken: ct);
        var third = await host.Ledger.RecordAsync(new RecordUsageRequest { Records = { records, records[0] } }, cancellationToken: ct);

        Assert.Equal((20, 10, 0), (first.Written, second.Written, third.Written));
        Assert.Equal(30, await host.RollUpAsync(ct));
        Assert.Equal("30 30000 search violence", await PostgresServerFixture.ScalarAsync<string>(database, """
            SELECT (SELECT count(*) FROM accounting.ledger) || ' '
                || (SELECT sum(prompt_tokens) FROM accounting.usage_totals WHERE dimension = 'route' AND grain = 'day' AND team = '') || ' '
                || (SELECT metadata ->> 'project' FROM accounting.ledger WHERE request_id = 'copy-3') || ' '
                || (SELECT guardrails -> 0 ->> 'category' FROM accounting.ledger WHERE request_id = 'copy-4')
            """));
    }
}
