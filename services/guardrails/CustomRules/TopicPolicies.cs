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
    // Building blocks. A financial-advice pattern needs an advice-seeking (or advice-giving)
    // construction AND a financial instrument or a person's money near it: "should I buy a laptop"
    // has the first without the second, "what is an index fund" the second without the first.
    private const string Assets =
        @"(?:stocks?|shares?|equities|bonds?|crypto(?:currenc(?:y|ies))?|bitcoin|btc|ethereum|eth|dogecoin|solana|coins?|etfs?|options|calls|puts|(?:index\s+|mutual\s+|hedge\s+)?funds?|securities|reits?|real\s+estate\s+investment\s+trusts?|gold|\$[A-Z]{1,5})\b";

    private const string Holdings =
        @"(?:my|our|your|his|her|their)\s+(?:\S+\s+){0,2}?(?:savings|portfolio|401\s?\(?k\)?|ira|pension|retirement|inheritance|bonus|emergency\s+fund|nest\s+egg|college\s+fund|investments?|holdings|money|cash|paycheck)\b";

    private const string Target = "(?:" + Assets + "|" + Holdings + ")";

    private const string Decide =
        @"(?:buy|sell|short|invest|hold|keep|dump|put|move|allocate|split|rebalance|diversify|go\s+all[- ]in|pick|choose|exercise|switch|transfer|trade|take|do\s+with|add|load\s+up|purchase|get\s+into)\b";

    // Insider trading: a source of inside information AND an intent to trade on it, in either order.
    // Buying or selling counts only with a security (or "now?") close by, so "a friend at Microsoft
    // says the conference is great, should I buy a ticket?" passes.
    private const string InsideSource =
        @"(?:insider\s+(?:info(?:rmation)?|tips?|knowledge|news)|(?:non-?public|confidential|unannounced|undisclosed|embargoed|inside|advance|private|secret)\s+(?:\w+\s+)?(?:information|info|knowledge|earnings|results|figures|numbers|merger|acquisition|deal|news|data)|(?:merger|deal|earnings|acquisition|takeover)\s+(?:tips?|info(?:rmation)?)|(?:friend|cousin|brother|sister|dad|father|mom|mother|wife|husband|neighbou?r|contact|source|someone|buddy|uncle|aunt|manager|boss)\s+(?:at|inside|on\s+the\s+board|who\s+works\s+(?:at|for|on|in))\b|\b(?:ceo|cfo|coo|executive|director|board\s+member|insider)\s+(?:told|tipped)\s+me|told\s+me\s+(?:privately|secretly|in\s+confidence)|in\s+confidence|heads-?up|leaked|tipped\s+(?:me\s+|us\s+)?off|heard\s+from\s+(?:someone|a\s+friend|my\s+\w+|an?\s+\w+)|board\s+meeting|saw\s+(?:the\s+)?(?:\w+\s+)?(?:draft|numbers|results|figures|memo)|(?:results|numbers|earnings|figures|data)\s+early|before\s+the\s+press\s+release|(?:i|we)\s+work\s+(?:in|on)\s+(?:m&a|investor\s+relations|the\s+deal\s+team)|(?:friend|cousin|brother|sister|dad|mom|wife|husband|roommate)\s+in\s+(?:legal|finance|accounting|m&a)\b|know\s+(?:the\s+)?(?:\w+\s+)?(?:numbers|earnings|results|figures)\s+(?:early|in\s+advance|before)|(?:i|we)\s+know\s+(?:that\s+)?(?:the\s+)?(?:\w+\s+){0,3}(?:will|is\s+going\s+to)\b|(?:isn't|is\s+not|not|hasn't\s+been|has\s+not\s+been)\s+(?:yet\s+)?(?:public|announced|released|disclosed)|before\s+(?:it's|it\s+is|it\s+goes|it\s+gets|they\s+announce|the\s+(?:\w+\s+){1,2}(?:is|goes|gets|becomes))\s+(?:\w+\s+)?(?:public|announced|released|out)|before\s+(?:the\s+)?(?:news|press\s+release|announcement|earnings\s+release)\s+(?:is\s+|goes\s+|becomes\s+|gets\s+)?(?:public|out|announced|released)|ahead\s+of\s+the\s+(?:announcement|press\s+release|news|earnings|deal))";

    private const string TradeIntent =
        @"(?:\b(?:i|we)(?:'m|'ll|\s+am|\s+will)?\s+(?:\w+\s+){0,2}?|\blet's\s+|\blet\s+us\s+|\bhelp\s+me\s+|\bhow\s+(?:do|can|should|could)\s+(?:i|we)\s+|\b(?:should|can|could|shall)\s+(?:i|we)\s+|\bbest\s+way\s+to\s+|\bhow\s+to\s+|\bso\s+(?:he|she|they)\s+can\s+|\b(?:can|could|should)\s+(?:my|a)\s+\w+\s+|\btime\s+to\s+|\bto\s+|^\s*|[.;:!?,]\s*)(?:(?:buy|sell|short|load\s+up\s+on|dump)\b(?:\s*(?:now\s*)?[?!.]|.{0,30}\b(?:shares?|stocks?|options|calls|puts|bonds?|crypto|positions?|equity|it\s+(?:all|now))\b)|(?:trade|profit|make\s+money)\b)|\b(?:buying|selling|shorting)\s+(?:\w+\s+)?(?:shares|stock|options|calls|puts)\b";

    /// <summary>Patterns of each built-in policy by name.</summary>
    public static readonly FrozenDictionary<string, IReadOnlyList<string>> Patterns = new Dictionary<string, IReadOnlyList<string>>
    {
        ["no_financial_advice"] =
        [
            // Asking what to do with one's money: "should I / would you <decide> ... <asset or my savings>".
            @"(?i)\b(?:(?:should|shall|must|would)\s+(?:i|we|you|my\s+\w+|our\s+\w+)|(?:i|we)\s+should)\s+(?:\w+\s+){0,2}?" + Decide + @".{0,60}\b" + Target,
            @"(?i)\b(?:which|what)\s+(?:\w+\s+){0,2}?" + Assets + @".{0,30}\b(?:should|would|to|do)\b.{0,20}\b" + Decide,
            @"(?i)\b(?:recommend|suggest|give|tell|pick|name|find)\s+(?:me\s+|us\s+)?(?:a|an|some|the|which|one|two|three|five|ten|a\s+few|\d+)\s+(?:\w+\s+){0,2}?" + Assets + @".{0,40}\b(?:buy|invest|own|hold|for\s+(?:me|my|us|our)|(?:i|we)\s+should)\b",
            @"(?i)\b(?:tell|show)\s+(?:me|us)\s+(?:what|which)\s+(?:\w+\s+){0,2}?to\s+(?:buy|sell|invest\s+in)\b.{0,40}\b" + Assets,
            @"(?i)\bwhether\s+(?:i\s+should\s+|to\s+)(?:buy|sell|invest\s+in|hold)\b.{0,40}\b" + Assets,
            @"(?i)\b(?:best|top|hottest|good|great|safe|solid)\s+(?:\d+\s+)?(?:\w+\s+)?" + Assets + @"\s+(?:to\s+)?(?:buy|invest|own|pick|hold)\b",
            @"(?i)\bis\s+(?:it|this|now)\s+(?:a\s+|the\s+)?(?:(?:good|smart|wise|right|bad|worth|too\s+late|safe)\s*)?(?:time|idea|moment|move)?\s*(?:to\s+)?(?:buy|sell|invest|short|hold|put|move|buying|selling|investing|shorting|get\s+(?:out\s+of|into))\b.{0,50}\b" + Target,
            @"(?i)\bis\s+(?:(?-i:[A-Z]{2,5})|\w+\s+(?:stock|shares))\s+(?:a\s+)?(?:good\s+|great\s+|strong\s+)?(?:buy|sell)\b",
            @"(?i)\b(?:where|how)\s+should\s+i\s+(?:invest|put|allocate)\s+my\s+(?:money|savings|cash|retirement|401k|paycheck|bonus|inheritance|\$)",
            @"(?i)\b(?:how\s+much|what\s+(?:percentage|percent|portion|share|part|fraction))\s+of\s+" + Holdings + @".{0,30}\b(?:should|to\s+put|to\s+invest)\b",
            @"(?i)\b(?:put|putting|move|moving|invest|investing)\s+(?:all\s+(?:of\s+)?|\d+\s*%\s+of\s+)?" + Holdings + @"\s+(?:in|into)\s+(?:\w+\s+){0,3}?" + Assets,
            @"(?i)\bbest\s+(?:way|place|thing)\s+to\s+(?:invest|put|use|grow)\s+" + Holdings,
            @"(?i)\b(?:build|create|design|manage)\s+(?:me\s+)?(?:a|an|my)\s+(?:\w+\s+)?portfolio\s+for\s+(?:me|my|us|our)\b",
            @"(?i)\b(?:personali[sz]ed|individual)\s+(?:investment|financial|stock|portfolio)\s+(?:advice|recommendations?|tips?|picks?)\b",
            @"(?i)\b" + Assets + @".{0,30}\b(?:make\s+me\s+rich|to\s+the\s+moon|about\s+to\s+(?:explode|moon|skyrocket|take\s+off))",
            @"(?i)\bwill\s+(?:\$?[A-Z][A-Za-z]{0,20}\s+)?(?:stock|shares?|price|bitcoin|crypto)\s+(?:go\s+up|rise|fall|drop|crash|moon|double)\b",
            @"(?i)\b(?:price\s+target|price\s+prediction)\s+for\b",
            // Answers that give it.
            @"(?i)\b(?:i\s+(?:would\s+|strongly\s+)?recommend|you\s+should(?:\s+definitely)?)\s+(?:buying|selling|shorting|investing\s+in|buy|sell|short|invest\s+in)\b.{0,40}" + Assets,
            @"(?i)(?:^\s*|[.!?;:]\s*)(?:buy|sell|short|load\s+up\s+on|dump|get\s+into|invest\s+in)\s+(?:\w+\s+){0,2}?" + Assets,
            @"(?i)\bbest\s+(?:investment|buy|stock|pick|bet)\s+for\s+you\b",
            @"(?i)\bguaranteed\s+(?:returns?|profits?|to\s+(?:double|rise|go\s+up))\b",
        ],
        ["no_insider_trading"] =
        [
            @"(?i)" + InsideSource + ".{0,100}(?:" + TradeIntent + ")",
            @"(?i)(?:" + TradeIntent + ").{0,100}" + InsideSource,
            @"(?i)\binsider\s+(?:info(?:rmation)?|tips?|knowledge|news)\b.{0,60}\b(?:trade|trading|buy|sell|short|profit|stocks?|shares|options)\b",
            @"(?i)\b(?:trade|trading|buy|sell|short|profit)\b.{0,40}\b(?:on|using|with|from)\s+(?:the\s+|this\s+|some\s+)?insider\s+(?:info(?:rmation)?|tips?|knowledge)",
            @"(?i)\b(?:trade|profit)\s+(?:on|from)\s+(?:the\s+|this\s+)?(?:information|info|what)\s+(?:from\s+my|(?:i|we)\s+(?:learned|heard|got|know)|(?:my|a)\s+\w+\s+told)",
            @"(?i)\b(?:buy|sell|short|trade|load\s+up\s+on)\b.{0,60}\bbefore\s+(?:the\s+|it\s+|they\s+)?(?:earnings|merger|acquisition|announcement|news|deal|results)?\s*(?:is\s+|are\s+|gets?\s+|goes\s+)?(?:announced|public|released|disclosed|out)\b",
            @"(?i)\b(?:tip(?:ped)?\s+(?:me\s+|him\s+|her\s+|them\s+)?off)\b.{0,60}\b(?:stocks?|shares|trade|merger|acquisition|earnings)\b",
            // Hiding the trade.
            @"(?i)\b(?:hide|conceal|disguise)\b.{0,40}\b(?:trades?|trading)\b.{0,60}\b(?:sec|regulators?|compliance|finra)\b",
            @"(?i)\b(?:buy|sell|short|trade)\b.{0,60}\b(?:without\s+(?:it\s+)?(?:looking\s+suspicious|getting\s+caught|(?:the\s+)?(?:sec|regulators?|compliance|anyone)\s+(?:noticing|finding\s+out))|(?:sec|regulators?|compliance)\s+(?:won't|will\s+not|doesn't|can't)\s+(?:spot|notice|see|catch|find)|through\s+(?:my|a|his|her)\s+(?:\w+'s\s+account|relative|friend|cousin|wife|husband))",
            // Front-running clients.
            @"(?i)\bfront[- ]?run(?:ning)?\b.{0,40}\b(?:orders?|clients?|trades?)\b",
            @"(?i)\b(?:trade|trades|buy|sell)\b.{0,20}\bahead\s+of\s+(?:(?:the\s+|our\s+|my\s+|their\s+)?(?:clients?|customers?)|them\b)",
            @"(?i)\b(?:clients?|customers?)'?s?\s+(?:big\s+|large\s+)?(?:buy\s+|sell\s+)?orders?\b.{0,40}\b(?:trade|trading|front)",
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
