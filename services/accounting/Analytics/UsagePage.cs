using Gateway.Aspire.Accounting.Grpc;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// The rows of one usage page as the queries fill it: at most <see cref="Limit"/> rows and about
/// <see cref="UsageQueries.MaxPageBytes"/>; a row offered beyond either means another page follows.
/// </summary>
internal sealed class UsagePage(int limit, bool unpaged)
{
    private int _bytes;

    /// <summary>Most rows the page holds.</summary>
    public int Limit { get; } = limit;

    /// <summary>The rows so far, in order.</summary>
    public List<UsageRow> Rows { get; } = [];

    /// <summary>A row was left over: another page follows (never for a top-N answer, which is whole).</summary>
    public bool More { get; private set; }

    /// <summary>The page takes no more rows.</summary>
    public bool Done { get; private set; }

    /// <summary>Adds <paramref name="row"/>; false (and <see cref="Done"/>) when it belongs to the next page.</summary>
    public bool TryAdd(UsageRow row)
    {
        var size = row.CalculateSize();
        if (Rows.Count == Limit || (Rows.Count > 0 && _bytes + size > UsageQueries.MaxPageBytes))
        {
            More = !unpaged;
            Done = true;
            return false;
        }

        _bytes += size;
        Rows.Add(row);
        return true;
    }
}
