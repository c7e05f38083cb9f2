namespace Gateway.Aspire.MockUpstream;

/// <summary>A tool the request offers: its name and the first argument its schema declares.</summary>
/// <param name="Name">The tool (function) name.</param>
/// <param name="ArgumentName">The first property of its parameter schema, or null when it declares none.</param>
internal readonly record struct MockTool(string Name, string? ArgumentName);

/// <summary>
/// What an answer depends on, whatever the wire format the request came in: each format reads its
/// own request into this, and <see cref="MockAnswer"/> answers it the same way for all.
/// </summary>
internal sealed class MockPrompt
{
    private string? _lastText;
    private string? _lastUserText;

    /// <summary>Deterministic uncached prompt tokens: about four characters a token, plus four per turn.</summary>
    public int InputTokens { get; private set; }

    /// <summary>The text of the last user turn (of the last turn when no user spoke).</summary>
    public string LastUserText => _lastUserText ?? _lastText ?? "";

    /// <summary>The tool result the conversation ends with, or null when its last turn is not one.</summary>
    public string? ToolResult { get; private set; }

    /// <summary>The tools the request offers, in order.</summary>
    public List<MockTool> Tools { get; } = [];

    /// <summary>The request's output limit (max_tokens, maxOutputTokens), if any.</summary>
    public int? MaxTokens { get; set; }

    /// <summary>Adds one turn of the conversation (system prompts count as turns too).</summary>
    /// <param name="isUser">True for a user's turn.</param>
    /// <param name="text">The turn's text.</param>
    /// <param name="toolResult">The tool result the turn carries, if any.</param>
    public void AddTurn(bool isUser, string text, string? toolResult = null)
    {
        InputTokens += 4 + (text.Length + (toolResult?.Length ?? 0) + 3) / 4;
        ToolResult = toolResult;
        _lastText = text;
        // A user turn that only returns a tool result does not replace the question it answers.
        if (isUser && (text.Length > 0 || toolResult is null))
        {
            _lastUserText = text;
        }
    }
}
