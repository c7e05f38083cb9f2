namespace Gateway.Aspire.Router.Forwarding;

/// <summary>Request ids: the client's <c>x-request-id</c> when it is sane, else a new time-ordered one.</summary>
internal static class RequestIds
{
    /// <summary>Longest client id accepted; longer ones are replaced (they end up in the ledger).</summary>
    public const int MaxLength = 128;

    /// <summary>The client's id if valid, else a new GUID v7 (time-ordered: ledger rows cluster by time).</summary>
    public static string FromHeaderOrNew(string? header, TimeProvider time) =>
        IsValid(header) ? header! : Guid.CreateVersion7(time.GetUtcNow()).ToString();

    /// <summary>1..128 characters of <c>[A-Za-z0-9._:-]</c>: safe in logs, headers and SQL.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }
}
