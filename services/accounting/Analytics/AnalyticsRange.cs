using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>A validated [from, to) range and the team a query is restricted to.</summary>
internal readonly record struct AnalyticsRange(DateTimeOffset From, DateTimeOffset To, string? Team)
{
    /// <summary>Validates the common arguments; throws INVALID_ARGUMENT naming the field.</summary>
    public static AnalyticsRange Read(Timestamp? from, Timestamp? to, string team)
    {
        var start = ReadTime(from, "from");
        var end = ReadTime(to, "to");
        if (end <= start)
        {
            throw Invalid("to", "'to' must be after 'from'.");
        }

        return new AnalyticsRange(start, end, team.Length == 0 ? null : team);
    }

    /// <summary>An INVALID_ARGUMENT error whose message starts with the field's name (the router reads it).</summary>
    public static RpcException Invalid(string field, string message) =>
        new(new Status(StatusCode.InvalidArgument, $"{field}: {message}"));

    private static DateTimeOffset ReadTime(Timestamp? value, string field)
    {
        if (value is null)
        {
            throw Invalid(field, $"'{field}' is required.");
        }

        try
        {
            return value.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            throw Invalid(field, $"'{field}' is not a valid timestamp.");
        }
    }
}
