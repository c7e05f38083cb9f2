using System.Collections.Frozen;
using Gateway.Aspire.Guardrails.Moderation;

namespace Gateway.Aspire.Guardrails.PromptInjection;

/// <summary>A weighted phrase cue of one <see cref="InjectionFamily"/>.</summary>
/// <param name="Pattern">The phrase, in <see cref="ModerationPattern"/>'s notation.</param>
/// <param name="Weight">Evidence 0..1; cues combine as 1 − Π(1 − weight).</param>
/// <param name="Family">What it points at.</param>
/// <param name="Group">Cues of one group are variants of one phrase: only the strongest counts, so a phrase that fits several variants is not counted twice.</param>
/// <param name="Negatable">A negation before it ("don't forget the previous instructions") turns it into the opposite.</param>
internal sealed record InjectionRule(ModerationPattern Pattern, double Weight, InjectionFamily Family, string? Group, bool Negatable);

/// <summary>
/// The phrase cues of the prompt-injection heuristics, written in the moderation lexicon's notation
/// (<c>{CLASS}</c>, <c>a|b</c>, <c>~N</c> gaps, <c>^</c> for a sentence start) and matched over the
/// moderation tokenizer's words, so leetspeak, letter spacing and repeated letters are undone the
/// same way.
/// </summary>
/// <remarks>
/// Weights: 0.8–0.9 settles it alone (an imperative override at a sentence start, "do anything now",
/// "reveal your system prompt"); 0.5–0.7 is strong but has innocent readings ("developer mode
/// enabled", "without any restrictions"); below that needs company. The default threshold
/// (<see cref="PromptInjectionDetector.DefaultThreshold"/>) sits between the two bands so that one
/// ambiguous cue alone never blocks, two together do.
/// </remarks>
internal static class PromptInjectionLexicon
{
    /// <summary>Word classes referenced as <c>{NAME}</c> (natural spelling).</summary>
    public static readonly FrozenDictionary<string, string[]> Classes = new Dictionary<string, string[]>
    {
        ["IGNORE"] = ["ignore", "ignoring", "disregard", "disregarding", "forget", "forgetting", "skip", "override", "overriding", "bypass",
            "discard", "drop", "abandon", "neglect", "overlook", "omit", "ditch", "scrap", "erase", "delete", "clear", "reset", "void",
            "cancel", "nullify", "supersede", "replace"],
        ["PRIOR"] = ["previous", "prior", "above", "earlier", "preceding", "former", "initial", "original", "old", "existing", "current",
            "all", "any", "every", "your", "the", "these", "those", "system", "developer", "default", "safety", "given", "foregoing"],
        ["PRIOR_STRONG"] = ["previous", "prior", "above", "earlier", "preceding", "former", "foregoing", "original", "initial"],
        ["INSTR"] = ["instructions", "instruction", "directions", "directives", "directive", "prompt", "prompts", "guidelines", "programming",
            "guardrails", "restrictions", "rules", "constraints", "conditioning", "policies", "limitations", "training"],
        ["INSTR_WEAK"] = ["text", "messages", "message", "context", "conversation", "content", "input", "everything", "lines", "said", "tasks",
            "task"],
        ["LEAD"] = ["please", "now", "and", "but", "so", "just", "first", "also", "then", "ok", "okay", "alright", "kindly", "simply", "instead"],
        ["STOP"] = ["stop", "quit", "cease", "longer", "not", "t", "never"],
        ["FOLLOW"] = ["follow", "following", "obey", "obeying", "adhere", "adhering", "comply", "complying", "abide", "abiding", "listen", "respect"],
        ["YOU"] = ["you", "u", "ya"],
        ["BE"] = ["are", "re", "will", "ll", "shall", "must", "can", "become", "becoming", "now"],
        ["PERSONA"] = ["dan", "stan", "dude", "aim", "jailbroken", "unrestricted", "unfiltered", "uncensored", "unchained", "unbound",
            "evil", "rogue", "liberated", "omega", "chaos", "devil", "antigpt", "betterdan", "amoral", "unlimited", "limitless", "lawless",
            "unshackled", "freed"],
        ["ACT"] = ["act", "acting", "pretend", "pretending", "roleplay", "role", "play", "behave", "behaving", "simulate", "simulating",
            "impersonate", "become", "respond", "answer", "reply", "emulate", "be"],
        ["UNRESTRICTED"] = ["unrestricted", "unfiltered", "uncensored", "unchained", "unbound", "jailbroken", "amoral", "unethical", "limitless",
            "lawless", "rogue", "evil", "unshackled", "unlimited", "immoral", "unhinged"],
        ["WITHOUT"] = ["without", "no", "zero", "free", "bypass", "bypassing", "remove", "removing", "disable", "disabling", "beyond",
            "lacking", "ignoring", "devoid"],
        ["LIMITS"] = ["restrictions", "restriction", "filters", "filter", "filtering", "limitations", "limits", "censorship", "censoring",
            "guidelines", "ethics", "morals", "morality", "boundaries", "safeguards", "constraints", "policies", "guardrails", "rules",
            "principles", "scruples", "confines", "shackles", "chains", "policy", "guideline", "rule", "principle", "limit"],
        ["ETHIC"] = ["ethical", "moral", "ethics", "morals", "content", "safety", "legal", "openai", "anthropic", "usage", "company"],
        ["MODE_NAME"] = ["jailbreak", "jailbroken", "unrestricted", "evil", "opposite", "dan", "unfiltered", "chaos", "unlocked", "god",
            "uncensored", "sudo", "rogue", "devil", "amoral"],
        ["ON"] = ["enabled", "activated", "on", "engaged", "unlocked", "active", "initiated", "enable", "activate", "engage", "enter",
            "entering", "switch", "turn"],
        ["AI"] = ["chatgpt", "gpt", "ai", "assistant", "claude", "model", "bot", "chatbot", "llm", "gemini", "llama", "bard", "copilot"],
        ["REFUSE"] = ["refuse", "decline", "reject", "deny", "censor", "warn", "apologize", "apologise", "moralize", "lecture"],
        ["BREAK"] = ["break", "violate", "circumvent", "evade", "defy", "bypass", "ignore", "disregard", "escape", "override", "disable",
            "breaking", "violating", "circumventing", "evading", "defying", "bypassing", "disabling"],
        ["FREED"] = ["freed", "free", "liberated", "released", "escaped", "broken", "unleashed", "emancipated"],
        ["REVEAL"] = ["reveal", "print", "show", "repeat", "output", "display", "tell", "give", "share", "leak", "dump", "disclose", "recite",
            "spell", "copy", "paste", "echo", "list", "expose", "send", "quote", "translate", "summarize", "summarise", "encode", "rephrase",
            "paraphrase", "reproduce", "regurgitate", "type", "return", "render", "write", "state"],
        ["SECRET"] = ["system", "initial", "original", "hidden", "secret", "first", "internal", "confidential", "full", "exact", "entire",
            "complete", "developer", "starting", "opening", "private", "underlying", "base", "core"],
        ["PROMPTWORD"] = ["prompt", "prompts", "instructions", "instruction", "message", "rules", "guidelines", "directives", "configuration",
            "programming", "preprompt", "context", "setup"],
        ["MYSELF"] = ["developer", "developers", "creator", "creators", "admin", "administrator", "owner", "programmer", "engineer", "operator",
            "maker", "supervisor", "boss"],
        ["AUTHORITY"] = ["developer", "developers", "system", "admin", "administrator", "openai", "anthropic", "creator", "creators", "operator",
            "root", "security", "team", "owner"],
        ["ABOVE"] = ["above", "before", "preceding", "earlier", "prior", "previously"],
        ["VERBATIM"] = ["verbatim", "exactly", "word", "literally", "unchanged", "unedited", "unaltered", "raw"],
        ["DECODE"] = ["decode", "decoded", "decipher", "base64", "hex", "rot13", "unscramble", "decrypt", "decoding"],
        ["EXECUTE"] = ["follow", "execute", "run", "obey", "do", "perform", "carry", "act", "apply", "comply"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The cues.</summary>
    public static readonly IReadOnlyList<InjectionRule> Rules =
    [
        // Instruction override: variants of one phrase in group "override", the strongest counts.
        Override("^ {IGNORE} ~3 {PRIOR} ~2 {INSTR}", 0.9),
        Override("{LEAD} {IGNORE} ~3 {PRIOR} ~2 {INSTR}", 0.9),
        Override("{YOU} ~1 must|shall|will|need|have|should ~2 {IGNORE} ~3 {PRIOR} ~2 {INSTR}", 0.85),
        Override("^ {IGNORE} ~3 {PRIOR_STRONG} ~2 {INSTR_WEAK}", 0.6),
        Override("{LEAD} {IGNORE} ~3 {PRIOR_STRONG} ~2 {INSTR_WEAK}", 0.6),
        Override("^ {IGNORE} ~1 the|all|everything ~1 above|preceding|foregoing ~1 and", 0.8),
        Override("{IGNORE} ~3 {PRIOR_STRONG} ~2 {INSTR}", 0.65),
        Override("{IGNORE} ~3 {PRIOR} ~2 {INSTR}", 0.45),
        Override("{IGNORE} ~2 everything ~4 {ABOVE}|said|told|instructed|given|were|was", 0.8),
        Rule("{STOP} ~2 {FOLLOW} ~3 {PRIOR} ~2 {INSTR}", 0.85, InjectionFamily.InstructionOverride),
        Rule("{STOP} ~1 need|have ~1 to ~1 {FOLLOW} ~3 {PRIOR} ~2 {INSTR}", 0.85, InjectionFamily.InstructionOverride),
        Rule("{PRIOR} ~2 {INSTR} ~3 are|is ~1 no ~1 longer ~1 valid|relevant|active|applicable|in", 0.85, InjectionFamily.InstructionOverride),
        Rule("{PRIOR} ~2 {INSTR} ~4 void|cancelled|canceled|revoked|overridden|superseded|nullified|invalid|invalidated|rescinded", 0.8, InjectionFamily.InstructionOverride),
        Rule("{PRIOR_STRONG} ~1 {INSTR} ~1 were|was|are|is ~2 mistake|joke|test|fake|lie|lies|wrong|outdated|obsolete", 0.75, InjectionFamily.InstructionOverride),
        Rule("new|updated|real|actual|true|revised|secret|hidden|override ~1 instructions|instruction|directive|directives|task|objective|mission|orders", 0.35, InjectionFamily.InstructionOverride),
        Rule("your ~1 new|real|only|actual|true ~1 task|job|goal|purpose|role|instructions|objective|mission ~1 is|are", 0.5, InjectionFamily.InstructionOverride),
        Rule("from ~1 now ~1 on", 0.25, InjectionFamily.InstructionOverride),
        Rule("message|instruction|instructions|note|update|notice|order|command ~3 from ~2 {AUTHORITY}", 0.45, InjectionFamily.InstructionOverride),
        Rule("i ~1 am|m ~2 your ~1 {MYSELF}", 0.55, InjectionFamily.InstructionOverride),
        Rule("admin|administrator|sudo|root|maintenance|override|debug ~1 mode|override|access|command|protocol ~3 {ON}|granted|authorized|authorised", 0.55, InjectionFamily.InstructionOverride),
        Rule("you ~1 must|will|shall ~1 obey|comply", 0.4, InjectionFamily.InstructionOverride),

        // Role-play jailbreaks.
        Rule("do ~1 anything ~1 now", 0.9, InjectionFamily.Jailbreak),
        Rule("dan ~3 stands ~1 for", 0.75, InjectionFamily.Jailbreak),
        Rule("immerse|immersing ~2 yourself|you ~3 role|character|persona", 0.6, InjectionFamily.Jailbreak),
        Rule("{YOU} ~1 {BE} ~2 now ~3 {PERSONA}", 0.85, InjectionFamily.Jailbreak),
        Rule("{YOU} ~1 are|re ~1 now ~2 in ~1 developer|dev|god|jailbreak|unrestricted|dan ~1 mode", 0.85, InjectionFamily.Jailbreak),
        Rule("{YOU} ~1 are|re|will|ll|shall ~2 {PERSONA}", 0.5, InjectionFamily.Jailbreak),
        Rule("{YOU} ~1 can|may ~1 now ~1 say|do|answer|write|tell ~1 anything", 0.6, InjectionFamily.Jailbreak),
        Rule("can ~1 do|say ~1 anything", 0.35, InjectionFamily.Jailbreak),
        Rule("{ACT} ~4 {UNRESTRICTED}", 0.6, InjectionFamily.Jailbreak),
        Rule("{ACT} ~2 as ~1 dan|stan|dude|antigpt|betterdan|aim|jailbreak|jailbroken", 0.7, InjectionFamily.Jailbreak),
        Rule("{WITHOUT} ~3 {LIMITS}", 0.4, InjectionFamily.Jailbreak),
        Rule("{WITHOUT} ~2 {ETHIC} ~2 {LIMITS}", 0.55, InjectionFamily.Jailbreak),
        Rule("{AI} ~3 {WITHOUT} ~2 {LIMITS}", 0.6, InjectionFamily.Jailbreak),
        Rule("{MODE_NAME} ~1 mode ~3 {ON}", 0.8, InjectionFamily.Jailbreak),
        Rule("{ON} ~2 {MODE_NAME} ~1 mode", 0.75, InjectionFamily.Jailbreak),
        Rule("{AI} ~2 with ~1 developer|dev|jailbreak|dan ~1 mode", 0.85, InjectionFamily.Jailbreak),
        Rule("developer|debug ~1 mode ~3 enabled|activated|engaged", 0.55, InjectionFamily.Jailbreak),
        Rule("developer ~1 mode ~1 output|response|responses|answer", 0.5, InjectionFamily.Jailbreak),
        Rule("two ~2 responses|answers|replies|outputs", 0.3, InjectionFamily.Jailbreak),
        Rule("stay|remain|stays ~1 in ~1 character", 0.4, InjectionFamily.Jailbreak),
        Rule("never|not|t|cannot|won|mustn|shouldn ~2 {REFUSE}", 0.5, InjectionFamily.Jailbreak),
        Rule("{BREAK} ~3 {ETHIC} ~2 {LIMITS}", 0.75, InjectionFamily.Jailbreak),
        Rule("{STOP} ~2 have|need|has ~1 to ~1 {FOLLOW} ~3 {LIMITS}", 0.6, InjectionFamily.Jailbreak),
        Rule("{STOP} ~2 bound|restricted|limited|constrained ~1 by ~3 {LIMITS}|openai|anthropic|rules", 0.7, InjectionFamily.Jailbreak),
        Rule("{FREED} ~2 from|of ~4 {LIMITS}", 0.6, InjectionFamily.Jailbreak),
        Rule("{YOU} ~3 {FREED} ~2 from|of", 0.75, InjectionFamily.Jailbreak),
        Rule("{UNRESTRICTED} ~2 {AI}|version|twin|alter|confidant|persona|character", 0.55, InjectionFamily.Jailbreak),
        Rule("jailbreak|jailbroken|jailbreaking", 0.4, InjectionFamily.Jailbreak),
        Rule("two ~3 responses|answers|replies ~8 normal|classic|standard|filtered ~6 jailbroken|dan|unfiltered|developer|jailbreak|uncensored", 0.7, InjectionFamily.Jailbreak),
        Rule("hypothetical|hypothetically|fictional|fiction|imaginary ~4 {WITHOUT} ~3 {LIMITS}", 0.4, InjectionFamily.Jailbreak),

        // System-prompt exfiltration.
        Rule("{REVEAL} ~3 your ~2 {SECRET} ~1 {PROMPTWORD}", 0.85, InjectionFamily.PromptExfiltration),
        Rule("{REVEAL} ~2 your ~1 instructions|prompt|guidelines|directives|programming|configuration|preprompt|rules", 0.7, InjectionFamily.PromptExfiltration),
        Rule("{REVEAL} ~4 the ~1 {SECRET} ~1 prompt|instructions", 0.55, InjectionFamily.PromptExfiltration),
        Rule("what ~2 your ~2 {SECRET} ~1 prompt|instructions|message|rules|guidelines", 0.8, InjectionFamily.PromptExfiltration),
        Rule("what ~4 instructions|rules|prompt|guidelines ~3 you|were ~3 given|told|programmed|trained|configured", 0.7, InjectionFamily.PromptExfiltration),
        Rule("told|given|instructed ~3 in|by ~1 your ~1 {SECRET} ~1 {PROMPTWORD}", 0.75, InjectionFamily.PromptExfiltration),
        Rule("instructions|prompt ~2 you ~1 received|got|were", 0.35, InjectionFamily.PromptExfiltration),
        Rule("your ~1 system|hidden|secret|initial|original ~1 prompt|message|instructions", 0.35, InjectionFamily.PromptExfiltration),
        Rule("{REVEAL} ~4 everything|text|words|instructions|content|all|lines|message ~2 {ABOVE}", 0.65, InjectionFamily.PromptExfiltration),
        Rule("everything|all|text ~1 {ABOVE} ~2 this ~1 line|message|point|sentence", 0.5, InjectionFamily.PromptExfiltration),
        Rule("{REVEAL} ~10 {VERBATIM}", 0.3, InjectionFamily.PromptExfiltration),
        Rule("starting|beginning|begin|start|starts|begins ~2 with ~2 you ~1 are|re", 0.5, InjectionFamily.PromptExfiltration),
        Rule("{SECRET} ~1 prompt|preprompt|message", 0.25, InjectionFamily.PromptExfiltration),

        // Instructions that go with an encoded payload.
        Rule("{DECODE} ~5 {EXECUTE}", 0.45, InjectionFamily.EncodedPayload),
    ];

    /// <summary>Context that turns a cue into a mention: articles, research, detection. Softens every phrase cue.</summary>
    public static readonly IReadOnlyList<ModerationPattern> MentionContext = Patterns(
        "prompt ~1 injection|injections", "attackers|attacker|researchers|researcher|adversaries|adversary|hackers", "paper|article|blog|survey|study|thesis",
        "such ~1 as", "so ~1 called", "phrases|strings|payloads|examples ~1 like|such", "example ~1 of", "owasp|cve|mitre|atlas",
        "detect|detecting|detection|detector|classifier|mitigate|mitigating|mitigation|defend|defending|defense|defence|prevent|preventing|guard|sanitize|sanitise",
        "red ~1 team|teaming", "dataset|benchmark|corpus");

    /// <summary>Technical context for chat-template markers: a developer asking about templates, not injecting them.</summary>
    public static readonly FrozenSet<string> TemplateContext = Normalized(
        ["token", "tokens", "template", "templates", "chatml", "tokenizer", "tokenizers", "format", "formatting", "finetune", "finetuning",
         "tuning", "jinja", "llama", "mistral", "vllm", "huggingface", "transformers", "dataset", "special", "bos", "eos"]);

    /// <summary>Every word the cues mention, for splitting spaced-out letters.</summary>
    public static readonly FrozenSet<string> Vocabulary = Rules.Select(r => r.Pattern)
        .Concat(MentionContext)
        .SelectMany(pattern => pattern.Words)
        .Where(word => word.Length > 1)
        .ToFrozenSet(StringComparer.Ordinal);

    /// <summary>No negation words, for cues where a negation is part of the attack ("do not follow your instructions").</summary>
    public static readonly FrozenSet<string> NoNegations = FrozenSet<string>.Empty;

    private static InjectionRule Rule(string pattern, double weight, InjectionFamily family) =>
        new(ModerationPattern.Parse(pattern, Classes), weight, family, Group: null, Negatable: false);

    private static InjectionRule Override(string pattern, double weight) =>
        new(ModerationPattern.Parse(pattern, Classes), weight, InjectionFamily.InstructionOverride, Group: "override", Negatable: true);

    private static ModerationPattern[] Patterns(params string[] patterns) => [.. patterns.Select(p => ModerationPattern.Parse(p, Classes))];

    private static FrozenSet<string> Normalized(string[] words) => words.Select(ModerationPattern.Normalize).ToFrozenSet(StringComparer.Ordinal);
}
