using Gateway.Aspire.Accounting.Grpc;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using NpgsqlTypes;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// Spend from the ledger grouped the way policy's budget counters are keyed, for rebuilding them
/// after Redis lost them: caller (token, user, team, virtual account), requested model, the
/// metadata values budget rules use, and UTC day (every budget period starts at a UTC midnight, so
/// policy can sum days into any rule's current period).
/// </summary>
internal sealed class SpendQueries(NpgsqlDataSource dataSource)
{
    /// <summary>Most metadata keys one query groups by.</summary>
    public const int MaxMetadataKeys = 32;

    // ceil per call, not of the sum: the router settles each call's cost rounded up to a nano-USD,
    // and the counters are the sum of those. Calls the router settles at 0 (failed ones; 499 keeps
    // its reservation, whose best known value is the call's own cost) do not count.
    private const string Sql = """
        SELECT coalesce(token_id, ''), coalesce(user_id, ''), coalesce(team, ''), coalesce(virtual_account, ''), requested_model,
               (SELECT coalesce(jsonb_object_agg(k, metadata ->> k), '{}'::jsonb)
                  FROM unnest($3::text[]) AS k WHERE metadata ? k)::text AS picked,
               date_trunc('day', started_at, 'UTC') AS day,
               count(*), sum(ceil(cost_usd * 1000000000))::bigint
          FROM accounting.ledger
         WHERE started_at >= $1 AND started_at < $2 AND (status_code < 400 OR status_code = 499)
         GROUP BY 1, 2, 3, 4, 5, 6, 7
         ORDER BY 7, 1, 5, 6
        """;

    /// <summary>The totals over [from, to).</summary>
    public async Task<SpendReply> TotalsAsync(AnalyticsRange range, IReadOnlyList<string> metadataKeys, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = range.From, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = range.To, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. metadataKeys] });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var reply = new SpendReply();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new SpendRow
            {
                TokenId = reader.GetString(0),
                User = reader.GetString(1),
                Team = reader.GetString(2),
                VirtualAccount = reader.GetString(3),
                RequestedModel = reader.GetString(4),
                Day = Timestamp.FromDateTimeOffset(reader.GetFieldValue<DateTimeOffset>(6)),
                Requests = reader.GetInt64(7),
                CostNanoUsd = reader.GetInt64(8),
            };
            using var picked = System.Text.Json.JsonDocument.Parse(reader.GetString(5));
            foreach (var property in picked.RootElement.EnumerateObject())
            {
                row.Metadata[property.Name] = property.Value.GetString() ?? "";
            }

            reply.Rows.Add(row);
        }

        return reply;
    }
}
