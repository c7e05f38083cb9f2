using Gateway.Aspire.Testing;
using Npgsql;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>Reads the ledger the way a platform team would: by token, straight from PostgreSQL.</summary>
internal static class LedgerRows
{
    /// <summary>
    /// Waits (polling, at most 15 s: usage is written off the response path) for the one ledger row
    /// of <paramref name="tokenId"/>, reads <paramref name="columns"/> with <paramref name="read"/>, and
    /// fails if the token has more than one row.
    /// </summary>
    public static async Task<T> WaitForSingleAsync<T>(GatewayAppFixture app, string tokenId, string columns, Func<NpgsqlDataReader, T> read)
    {
        var cancellation = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            await using var connection = new NpgsqlConnection(app.GatewayDbConnectionString);
            await connection.OpenAsync(cancellation);
            await using var command = new NpgsqlCommand($"SELECT {columns} FROM accounting.ledger WHERE token_id = $1", connection);
            command.Parameters.AddWithValue(tokenId);
            await using var reader = await command.ExecuteReaderAsync(cancellation);
            if (await reader.ReadAsync(cancellation))
            {
                var row = read(reader);
                Assert.False(await reader.ReadAsync(cancellation), "one call must give exactly one ledger row");
                return row;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no ledger row for token {tokenId} within 15 s");
            await Task.Delay(100, cancellation);
        }
    }
}
