using System.Globalization;
using Gateway.Aspire.Router.Errors;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Primitives;

namespace Gateway.Aspire.Router.Analytics;

/// <summary>
/// The query string of an analytics endpoint, read strictly: an unknown, repeated or malformed
/// parameter is a 400 naming it (a typo such as <c>groupby</c> must not silently mean "no grouping").
/// </summary>
internal sealed class AnalyticsParameters
{
    /// <summary>Range used when <c>from</c> is omitted: the 7 days before <c>to</c>.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(7);

    private readonly IQueryCollection _query;

    private AnalyticsParameters(IQueryCollection query) => _query = query;

    /// <summary>The first problem found, as a 400; null while there is none.</summary>
    public IResult? Error { get; private set; }

    /// <summary>Checks that <paramref name="query"/> holds only <paramref name="allowed"/> names, each once.</summary>
    public static AnalyticsParameters Read(IQueryCollection query, params string[] allowed)
    {
        var parameters = new AnalyticsParameters(query);
        foreach (var (name, values) in query)
        {
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                parameters.Fail(name, $"Unknown parameter '{Shorten(name)}'; this endpoint takes {string.Join(", ", allowed)}.");
                break;
            }

            if (values.Count > 1)
            {
                parameters.Fail(name, $"'{name}' is given more than once.");
                break;
            }
        }

        return parameters;
    }

    /// <summary>A string parameter; empty when absent.</summary>
    public string Text(string name) => _query.TryGetValue(name, out var value) ? value.ToString() : "";

    /// <summary>One of <paramref name="choices"/>, or <paramref name="fallback"/> when absent.</summary>
    public string Choice(string name, IReadOnlyCollection<string> choices, string fallback = "")
    {
        var value = Text(name);
        if (value.Length == 0)
        {
            return fallback;
        }

        if (!choices.Contains(value, StringComparer.Ordinal))
        {
            Fail(name, $"'{name}' must be one of {string.Join(", ", choices)}; got '{Shorten(value)}'.");
        }

        return value;
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public int Integer(string name, int min, int max, int fallback)
    {
        var value = Text(name);
        if (value.Length == 0)
        {
            return fallback;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < min || parsed > max)
        {
            Fail(name, $"'{name}' must be an integer from {min} to {max}; got '{Shorten(value)}'.");
            return fallback;
        }

        return parsed;
    }

    /// <summary>
    /// <c>from</c> and <c>to</c> as ISO-8601 (a date alone is its UTC midnight; no offset means UTC);
    /// <c>to</c> defaults to now and <c>from</c> to <see cref="DefaultRange"/> before it.
    /// </summary>
    public (Timestamp From, Timestamp To) Range(DateTimeOffset now)
    {
        var to = Time("to") ?? now;
        var from = Time("from") ?? to - DefaultRange;
        if (Error is null && to <= from)
        {
            Fail("to", "'to' must be after 'from'.");
        }

        return (Timestamp.FromDateTimeOffset(from), Timestamp.FromDateTimeOffset(to));
    }

    private DateTimeOffset? Time(string name)
    {
        var value = Text(name);
        if (value.Length == 0)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            || parsed.Year is < 2000 or > 2099)
        {
            Fail(name, $"'{name}' must be an ISO-8601 time such as 2025-06-01T00:00:00Z (years 2000-2099); got '{Shorten(value)}'.");
            return null;
        }

        return parsed;
    }

    /// <summary>Records a 400 for <paramref name="name"/> unless an earlier problem is already recorded.</summary>
    public void Fail(string name, string message) =>
        Error ??= OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_parameter", message, name);

    private static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
