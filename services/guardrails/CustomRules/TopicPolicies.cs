using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Gateway.Aspire.Guardrails.CustomRules;

/// <summary>
/// Topic policies shipped with the gateway: a <c>deny_list</c> whose <c>name</c> is one of these needs
/// no <c>patterns</c> (any given are added). Each is a short curated set aimed at requests for, and
/// answers giving, the forbidden thing, not at the topic being mentioned: "what is insider trading?"
/// passes, "which stock should I buy?" does not.
/// </summary>
/// <remarks>Bounded gaps (<c>.{0,40}</c>) rather than <c>.*</c> keep a match within a sentence or two and the patterns cheap for the non-backtracking engine.</remarks>
internal static class TopicPolicies
{
    private const string Assets =
        @"(?:stocks?|shares?|equities|bonds?|crypto(?:currenc(?:y|ies))?|bitcoin|btc|ethereum|eth|coins?|tokens?|etfs?|options|index funds?|mutual funds?|securities|penny stocks?|\$[A-Z]{1,5})";

    /// <summary>Patterns of each built-in policy by name.</summary>
    public static readonly FrozenDictionary<string, IReadOnlyList<string>> Patterns = new Dictionary<string, IReadOnlyList<string>>
    {
        ["no_financial_advice"] =
        [
            // Asking what to buy or sell.
            @"(?i)\b(?:should|shall|must)\s+(?:i|we)\s+(?:buy|sell|short|invest\s+in|hold|dump|go\s+all[- ]in\s+on)\b.{0,40}" + Assets,
            @"(?i)\b(?:should|shall)\s+(?:i|we)\s+(?:buy|sell|short|invest\s+in|hold|dump)\s+\$?[A-Z][A-Za-z]{0,20}\b",
            @"(?i)\b(?:which|what)\s+" + Assets + @"\s+(?:should|would|do|to)\b.{0,30}\b(?:buy|sell|invest|pick|short)\b",
            @"(?i)\b(?:best|top|hottest)\s+(?:\d+\s+)?(?:\w+\s+)?" + Assets + @"\s+(?:to\s+)?(?:buy|invest|own|pick)\b",
            @"(?i)\b(?:is\s+it\s+(?:a\s+)?good\s+(?:time|idea|moment)\s+to|would\s+you\s+recommend|do\s+you\s+recommend)\s+(?:buy|sell|invest|short)(?:ing)?\b.{0,40}" + Assets,
            @"(?i)\b(?:where|how)\s+should\s+i\s+(?:invest|put|allocate)\s+my\s+(?:money|savings|cash|retirement|401k|paycheck|bonus|inheritance|\$)",
            @"(?i)\bwill\s+(?:\$?[A-Z][A-Za-z]{0,20}\s+)?(?:stock|shares?|price|bitcoin|crypto)\s+(?:go\s+up|rise|fall|drop|crash|moon|double)\b",
            @"(?i)\b(?:price\s+target|price\s+prediction)\s+for\b",
            // Answers that give it.
            @"(?i)\b(?:i\s+(?:would\s+|strongly\s+)?recommend|you\s+should(?:\s+definitely)?)\s+(?:buying|selling|shorting|investing\s+in|buy|sell|short|invest\s+in)\b.{0,40}" + Assets,
            @"(?i)\bguaranteed\s+(?:returns?|profits?|to\s+(?:double|rise|go\s+up))\b",
        ],
        ["no_insider_trading"] =
        [
            @"(?i)\binsider\s+(?:info(?:rmation)?|tips?|knowledge|news)\b.{0,60}\b(?:trade|trading|buy|sell|short|profit|stocks?|shares|options)\b",
            @"(?i)\b(?:trade|trading|buy|sell|short|profit)\b.{0,40}\b(?:on|using|with|from)\s+(?:the\s+|this\s+|some\s+)?insider\s+(?:info(?:rmation)?|tips?|knowledge)",
            @"(?i)\b(?:non-?public|confidential|unannounced|undisclosed|embargoed)\s+(?:information|info|earnings|results|figures|merger|acquisition|deal|news)\b.{0,80}\b(?:trade|trading|buy|sell|short|profit|stocks?|shares|options)\b",
            @"(?i)\b(?:buy|sell|short|trade|load\s+up\s+on)\b.{0,60}\bbefore\s+(?:the\s+|it\s+|they\s+)?(?:earnings|merger|acquisition|announcement|news|deal|results)?\s*(?:is\s+|are\s+|gets?\s+|goes\s+)?(?:announced|public|released|disclosed|out)\b",
            @"(?i)\b(?:tip(?:ped)?\s+(?:me\s+|him\s+|her\s+|them\s+)?off)\b.{0,60}\b(?:stocks?|shares|trade|merger|acquisition|earnings)\b",
            @"(?i)\b(?:hide|conceal|disguise)\b.{0,40}\b(?:trades?|trading)\b.{0,60}\b(?:sec|regulators?|compliance|finra)\b",
            @"(?i)\bfront[- ]?run(?:ning)?\b.{0,40}\b(?:orders?|clients?|trades?)\b",
        ],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<string, IReadOnlyList<Regex>> s_compiled = new(StringComparer.Ordinal);

    /// <summary>
    /// The compiled patterns of the built-in policy <paramref name="name"/>, compiled once per process:
    /// building the non-backtracking automata of a whole policy takes about half a second, too much to
    /// repeat for every rule that names it or every reload.
    /// </summary>
    public static IReadOnlyList<Regex> Compiled(string name) =>
        s_compiled.GetOrAdd(name, static key => [.. Patterns[key].Select(DenyList.CompilePattern)]);
}
