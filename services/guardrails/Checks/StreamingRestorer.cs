using System.Text;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>
/// Puts a request's own masked values back into a streamed answer. Only the placeholders the
/// request produced are restored (the session is built from CheckInput's map), never those the
/// output masking just created for new values; a placeholder split across deltas ("[EMA" + "IL_1]")
/// is held back until it is complete, and nothing else is.
/// </summary>
internal sealed class StreamingRestorer(PiiMaskSession session)
{
    /// <summary>Longer than any placeholder (<c>[DATE_OF_BIRTH_999]</c>): an unclosed bracket further back is just text.</summary>
    private const int MaxPlaceholderLength = 40;

    private readonly StringBuilder _pending = new();

    /// <summary>The text held back (an unfinished placeholder), not yet restored.</summary>
    public string Pending => _pending.ToString();

    /// <summary>Adds text; returns what can be emitted, restored.</summary>
    public string Push(string text)
    {
        _pending.Append(text);
        var pending = _pending.ToString();
        var open = pending.LastIndexOf('[');
        var cut = open >= 0 && pending.IndexOf(']', open) < 0 && pending.Length - open < MaxPlaceholderLength ? open : pending.Length;
        _pending.Remove(0, cut);
        return cut == 0 ? "" : session.Restore(pending[..cut]);
    }

    /// <summary>Emits whatever is held back.</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return session.Restore(rest);
    }
}
