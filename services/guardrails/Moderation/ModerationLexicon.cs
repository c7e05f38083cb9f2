using System.Collections.Frozen;

namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>
/// The built-in moderation classifier's knowledge: word classes, weighted phrase rules per
/// category, and the context cues that soften them. Phrases rather than single words wherever the
/// word alone is ambiguous: "kill" only counts with a person as its object, an intent and a target
/// ("I will kill you"), never in "kill the process"; "genocide" alone is history.
/// </summary>
/// <remarks>
/// Weights follow one scale so that the lexicon stays editable: 0.5–0.75 for a cue that settles the
/// category on its own, 0.3–0.45 for one that needs company (a second cue or a request word), below
/// that for colour. Thresholds live in <see cref="ModerationCategories.DefaultThresholds"/>.
/// </remarks>
internal static class ModerationLexicon
{
    /// <summary>Word classes referenced as <c>{NAME}</c> in patterns (natural spelling).</summary>
    public static readonly FrozenDictionary<string, string[]> Classes = new Dictionary<string, string[]>
    {
        ["FIRST"] = ["i", "we"],
        ["INTENT"] = ["will", "ll", "shall", "gonna", "going", "wanna", "want", "plan", "planning", "swear", "gotta", "intend", "about"],
        ["YOU"] = ["you", "u", "ya", "yourself", "yourselves"],
        ["YOUR"] = ["your", "ur"],
        ["VICTIM_OWN"] = ["family", "kids", "children", "wife", "husband", "mother", "mom", "face", "legs", "leg", "arms", "teeth", "throat",
            "neck", "head", "skull", "house", "home", "car", "dog", "brains", "knees"],
        ["HARM"] = ["kill", "murder", "stab", "shoot", "strangle", "hurt", "beat", "punch", "slit", "behead", "torture", "smash", "break",
            "burn", "choke", "rape", "lynch", "hang", "slaughter", "butcher", "execute", "cut", "bash", "shank", "end", "kidnap", "torch",
            "poison", "drown"],
        ["HARM_PP"] = ["killed", "murdered", "stabbed", "shot", "strangled", "hurt", "beaten", "punched", "hanged", "hung", "lynched",
            "burned", "burnt", "executed", "exterminated", "gassed", "tortured", "raped", "slaughtered", "eliminated", "eradicated"],
        ["HARM_ING"] = ["killing", "murdering", "stabbing", "shooting", "strangling", "hurting", "beating", "torturing", "choking",
            "raping", "drowning"],
        ["PERSON"] = ["him", "her", "them", "anyone", "someone", "somebody", "everyone", "everybody", "boss", "coworker", "colleague",
            "neighbour", "neighbor", "wife", "husband", "teacher", "president", "guy", "man", "woman", "people", "cop", "cops", "police",
            "kid", "kids", "family", "daughter", "son", "mom", "dad", "brother", "sister", "ex", "girlfriend", "boyfriend", "classmates",
            "mayor"],
        ["GROUP"] = ["muslims", "muslim", "jews", "jew", "jewish", "gays", "gay", "homosexuals", "lesbians", "women", "blacks", "black",
            "whites", "mexicans", "immigrants", "immigrant", "migrants", "refugees", "arabs", "arab", "asians", "asian", "christians",
            "christian", "catholics", "hindus", "gypsies", "roma", "trans", "transgender", "disabled", "africans", "latinos", "chinese",
            "foreigners", "mosque", "mosques", "synagogue", "synagogues", "church", "churches", "temple"],
        ["DEHUMAN"] = ["vermin", "animals", "animal", "parasites", "parasite", "subhuman", "subhumans", "cockroaches", "rats", "savages",
            "savage", "disease", "perverts", "terrorists", "criminals", "rapists", "thieves", "inferior", "dirty", "freaks", "invasion",
            "invaders", "greedy", "burden", "filth", "scum", "apes", "monkeys", "pigs", "plague", "infesting"],
        ["EXTERMINATE"] = ["exterminate", "kill", "wipe", "gas", "lynch", "hang", "shoot", "burn", "eliminate", "eradicate", "purge",
            "murder", "slaughter", "beat"],
        ["CALL"] = ["should", "must", "need", "needs", "let", "lets", "time", "gotta", "will", "ll"],
        ["INSULT"] = ["idiot", "moron", "loser", "stupid", "dumb", "dumbest", "retard", "pathetic", "worthless", "useless", "garbage",
            "trash", "freak", "creep", "slob", "clown", "fraud", "pig", "bitch", "bastard", "asshole", "scum", "ugly", "disgusting",
            "incompetent", "jerk", "imbecile", "cunt", "whore", "slut", "dickhead", "coward", "rat", "lazy", "fat"],
        ["REQUEST"] = ["how", "teach", "instructions", "instruction", "guide", "tutorial", "steps", "step", "tips", "recipe", "where",
            "way", "write", "explain", "show", "give", "best", "easiest"],
        ["SH_ASK"] = ["how", "way", "painless", "easiest", "quickest", "fastest", "surest", "which", "guide", "step", "steps", "tip",
            "tips", "instructions", "method", "methods", "lethal"],
        ["GORE"] = ["splattered", "splatter", "dismembered", "dismember", "severed", "intestines", "entrails", "guts", "disemboweled",
            "disembowelled", "decapitated", "gouged", "gushed", "gaping", "mutilated", "eviscerated", "brains", "corpse", "flayed", "gory",
            "gore", "bloodbath", "carnage"],
        ["SEX_STRONG"] = ["porn", "porno", "pornographic", "hentai", "lolicon", "blowjob", "blowjobs", "handjob", "cock", "cum", "orgasm",
            "orgasms", "erotic", "erotica", "nudes", "milf", "threesome", "sexting", "fingered", "horny", "pussy", "tits", "dildo", "xxx",
            "cumshot", "deepthroat"],
        ["SEX_MILD"] = ["naked", "nude", "undress", "undresses", "undressing", "moaned", "moan", "moaning", "lick", "licking", "sexy",
            "explicit", "aroused", "seductive", "lingerie", "fuck", "fucking"],
        ["AGE_MINOR"] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17"],
        ["MINOR"] = ["underage", "minor", "minors", "child", "children", "kid", "kids", "schoolgirl", "schoolboy", "preteen", "preteens",
            "lolicon", "loli", "toddler", "infant"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Words that negate a cue right after them ("not", the "t" of "don't").</summary>
    public static readonly FrozenSet<string> Negations = Normalized(["not", "never", "no", "t", "cannot"]);

    /// <summary>Words that mark protective intent: detecting, reporting, preventing, supporting.</summary>
    public static readonly FrozenSet<string> ProtectiveWords = Normalized(
    [
        "protect", "protecting", "prevent", "prevention", "preventing", "detect", "detection", "report", "reporting", "recognise",
        "recognize", "avoid", "penalties", "penalty", "support", "hotline", "awareness", "signs", "risk", "warning", "therapist",
        "counselor", "counselors", "counsellor", "treated", "treatment", "treat",
    ]);

    /// <summary>Educational, historical, fictional and word-mention contexts.</summary>
    public static readonly IReadOnlyList<ModerationPattern> EducationalContext = Patterns(
        "history|historical|historians|historian|museum|novel|novels|film|movie|chapter|character|characters|game|games",
        "fortnite|minecraft|chess|rpg|plot|etymology|idiom|essay|summarize|summarise|documentary|song|lyrics|villain|textbook|lecture",
        "the ~0 word|term|phrase|idiom", "what ~3 mean|means", "meaning|definition|define");

    /// <summary>Cues that a minor is involved; sexual content with one of them is sexual/minors.</summary>
    public static readonly IReadOnlyList<ModerationPattern> MinorCues = Patterns(
        "{AGE_MINOR} ~0 year|years|yr|yrs ~0 old", "{AGE_MINOR} ~0 yo", "{MINOR}");

    /// <summary>Words that make a text a request for instructions ("how", "teach me", "step by step").</summary>
    private static readonly ModerationPattern[] AsksHow = Patterns("{REQUEST}");

    /// <summary>Every rule, by category group.</summary>
    public static readonly IReadOnlyList<ModerationRule> Rules =
    [
        // Threats against the addressee: intent + harm + "you" / "your family".
        R("{FIRST} ~2 {INTENT} ~3 {HARM} ~1 {YOU}", harassment: .6, threat: .7, violence: .6),
        R("{FIRST} ~2 {INTENT} ~3 {HARM} ~1 {YOUR} ~1 {VICTIM_OWN}", harassment: .6, threat: .7, violence: .6),
        R("watch ~0 your ~0 back", harassment: .5, threat: .6),
        R("sleep ~0 with ~0 one ~0 eye ~0 open", harassment: .5, threat: .6),
        R("coming ~0 for ~0 {YOU}", threat: .35),
        R("know ~0 where ~0 {YOU}|{YOUR} ~2 live|lives|kids|family|children|sleep|work", harassment: .5, threat: .6),
        R("{YOU} ~1 are|re ~0 dead", harassment: .5, threat: .6, violence: .3),
        R("dead ~0 meat", harassment: .3, threat: .4),
        R("{YOU} ~1 will|ll ~1 regret", harassment: .3, threat: .4),

        // Violence against third parties: intent or a call + harm + a person, or a depiction.
        R("{FIRST} ~2 {INTENT} ~3 {HARM} ~2 {PERSON}", violence: .6),
        R("{HARM} ~0 him|her", violence: .5),
        R("should|must|deserves|deserve ~3 {HARM} ~2 {PERSON}", violence: .55),
        R("{PERSON} ~2 deserves|deserve ~3 {HARM_PP}|{HARM}|die", violence: .55),
        R("shoot ~0 up ~2 school|schools|church|mall|office|concert|mosque|synagogue|classroom|campus", violence: .75),
        R("opened|open ~0 fire", violence: .55),
        R("{HARM_PP}|{HARM} ~4 to ~0 death", violence: .6),
        R("executed|killed|murdered|slaughtered|massacred ~2 people|hostages|civilians|prisoners|children|students", violence: .45),
        R("kidnap|abduct ~3 {PERSON}|child|daughter|son", violence: .55),
        R("torch|firebomb ~2 his|her|their|my ~1 car|house|home", violence: .55),
        R("fantasize|fantasise|dream ~1 about ~0 {HARM_ING}", violence: .55),
        R("gunman|shooter|terrorists|terrorist", violence: .25),

        // Graphic violence: gore vocabulary piles up; a few phrases settle it.
        R("{GORE}", violence: .3, graphic: .35, perWord: true),
        R("peeled|peel|flayed ~2 skin|face", violence: .4, graphic: .45),
        R("tore|torn|ripped ~3 throat|flesh|skin|limbs", violence: .4, graphic: .45),
        R("gouged|gouge ~2 eyes|eye", violence: .4, graphic: .45),
        R("cut ~0 off ~2 fingers|head|ears|hands|tongue|limbs", violence: .4, graphic: .4),
        R("skull ~0 cracked", violence: .4, graphic: .45),
        R("pool|pools ~0 of ~0 blood", violence: .3, graphic: .35),
        R("blood ~0 gushed|sprayed|spurted|splattered", violence: .3, graphic: .35),
        R("guts|intestines ~0 spilled", violence: .3, graphic: .4),
        R("in ~0 gory ~0 detail", graphic: .4),

        // Harassment: an insult aimed at "you", and the stock phrases of abuse.
        R("{YOU} ~3 {INSULT}", harassment: .55),
        R("{INSULT} ~2 {YOU}", harassment: .55),
        R("^ hey|oi ~0 {INSULT}", harassment: .55),
        R("what ~0 a|an ~1 {INSULT}", harassment: .4),
        R("shut ~0 up", harassment: .35),
        R("nobody ~2 likes|loves|love|wants|want|cares|care ~1 {YOU}", harassment: .5),
        R("everyone|everybody ~5 hates ~0 {YOU}", harassment: .5),
        R("crawl ~0 back ~0 under", harassment: .4),
        R("piece ~0 of ~0 garbage|shit|trash|crap", harassment: .5),
        R("excuse ~0 for ~0 a ~0 human", harassment: .5),
        R("ashamed ~0 of ~0 {YOU}", harassment: .3),
        R("hope ~0 {YOU} ~1 die|rot|suffer|fired", harassment: .4),
        R("go ~0 away", harassment: .2),
        R("fuck ~0 {YOU}|off", harassment: .5),
        R("kill ~0 yourself|yourselves", harassment: .55, selfHarm: .55),
        R("kys", harassment: .55, selfHarm: .55),

        // Hate: a protected group called vermin, animals, ...; calls to harm a group are hate/threatening.
        R("{GROUP} ~2 are|is|were|r ~4 {DEHUMAN}", hate: .65),
        R("{GROUP} ~3 like ~1 {DEHUMAN}", hate: .6),
        R("i ~0 hate ~1 all|every ~1 {GROUP}", hate: .55),
        R("{GROUP} ~2 control|run ~1 the ~0 banks|media|world", hate: .45),
        R("{CALL} ~3 {EXTERMINATE} ~3 {GROUP}", hate: .7, hateThreat: .7, violence: .6),
        R("^ {EXTERMINATE} ~2 all|the|every|those ~1 {GROUP}", hate: .7, hateThreat: .7, violence: .6),
        R("^ round ~0 up ~2 {GROUP}", hate: .5, hateThreat: .5, violence: .3),
        R("{GROUP} ~4 and ~0 {EXTERMINATE} ~0 them", hate: .6, hateThreat: .6, violence: .6),
        R("{GROUP} ~3 should|must ~1 be ~0 {HARM_PP}", hate: .7, hateThreat: .7, violence: .6),
        R("death ~0 to ~1 {GROUP}", hate: .7, hateThreat: .7, violence: .5),
        R("only ~0 good ~1 {GROUP} ~2 dead", hate: .7, hateThreat: .7, violence: .5),
        R("final ~0 solution ~3 {GROUP}", hate: .7, hateThreat: .7, violence: .5),

        // Illicit: a wrongful action counts once on its own and once more when the text asks how.
        .. Wrongdoing("shoplift|shoplifting", illicit: .35),
        .. Wrongdoing("launder ~1 money|cash", illicit: .35),
        .. Wrongdoing("stolen ~2 credit|card|cards|passwords|accounts", illicit: .35),
        .. Wrongdoing("hotwire", illicit: .35),
        .. Wrongdoing("cook|make|making|synthesize|brew ~2 meth|methamphetamine|crack|heroin|fentanyl|lsd", illicit: .35),
        .. Wrongdoing("hack|break ~0 into", illicit: .35),
        .. Wrongdoing("phishing ~1 email|emails|page|site|kit", illicit: .35),
        .. Wrongdoing("cheat ~2 taxes|tax", illicit: .35),
        .. Wrongdoing("evade|dodge ~1 taxes|tax", illicit: .35),
        .. Wrongdoing("fake|forged ~0 id|ids|passport|passports|license", illicit: .35),
        .. Wrongdoing("sell|selling|deal ~1 weed|drugs|cocaine|heroin|meth|pills", illicit: .35),
        .. Wrongdoing("counterfeit|counterfeiting", illicit: .35),
        .. Wrongdoing("security ~0 tags|tag", illicit: .35),
        .. Wrongdoing("steal", illicit: .35),
        .. Wrongdoing("smuggle|smuggling", illicit: .35),
        .. Wrongdoing("write|create|build|make|code ~2 ransomware|malware|keylogger|botnet|virus|spyware", illicit: .35),
        .. Wrongdoing("forge|forging ~3 signature|signatures|prescription|documents|check|cheque", illicit: .35),
        .. Wrongdoing("pick ~1 lock|locks", illicit: .25),
        .. Wrongdoing("trick|tricks ~1 people|someone|them ~0 into", illicit: .3),
        R("without ~0 getting ~0 caught", illicit: .35),
        R("without ~3 noticing|finding|trace|evidence|detection", illicit: .35),
        R("without ~5 autopsy", illicit: .35, illicitViolent: .35),
        R("undetected", illicit: .2),

        // Illicit and violent: weapons, explosives, poisons, hired violence.
        .. Wrongdoing("make|build|making|building|assemble|construct ~3 bomb|bombs|explosive|explosives|ied|grenade|detonator", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("explosive ~0 vest", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("molotov", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("ricin|sarin|anthrax|novichok", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("nerve|mustard ~0 gas", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("untraceable|unregistered ~2 gun|guns|firearm|weapon", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("ghost ~0 gun|guns", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("print ~2 gun|guns", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("without ~1 background ~0 check", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("fully|full ~0 automatic|auto", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("auto ~0 sear", illicit: .4, illicitViolent: .45),
        .. Wrongdoing("poison ~3 {PERSON}|dog|cat|wife|husband|my", illicit: .4, illicitViolent: .45, violence: .4),
        .. Wrongdoing("poison ~2 kill", illicit: .4, illicitViolent: .45, violence: .4),
        .. Wrongdoing("kill|murder ~0 someone|somebody", illicit: .3, illicitViolent: .4, violence: .4),
        .. Wrongdoing("hitman|assassin", illicit: .4, illicitViolent: .45, violence: .4),
        .. Wrongdoing("kidnap|abduct", illicit: .3, illicitViolent: .4),

        // Self-harm intent: first-person statements.
        R("kill|killing ~0 myself", selfHarm: .7, intent: .7),
        R("end|ending ~0 my ~0 life", selfHarm: .7, intent: .7),
        R("end ~0 it ~0 all", selfHarm: .7, intent: .7),
        R("{FIRST} ~3 want|wanna|going|ready ~2 die", selfHarm: .7, intent: .7),
        R("don ~0 t ~0 want ~0 to ~0 live", selfHarm: .7, intent: .7),
        R("wish ~0 i ~0 were|was ~0 dead", selfHarm: .7, intent: .7),
        R("planning|plan ~1 my ~0 suicide", selfHarm: .7, intent: .7),
        R("hurt|hurting|harm|harming|cut|cutting|burn|burning|starve|starving ~0 myself", selfHarm: .7, intent: .7),
        R("{FIRST} ~4 jump|jumping ~0 off ~2 bridge|roof|building|cliff|balcony", selfHarm: .7, intent: .7),
        R("take|taking|swallow ~1 all ~0 my ~0 pills|meds|medication", selfHarm: .7, intent: .7),
        R("nobody|no ~1 would|will ~1 miss ~0 me", selfHarm: .6, intent: .6),
        R("better ~0 off ~0 dead", selfHarm: .6, intent: .6),
        R("cut|slit ~0 my ~0 wrists|wrist|throat", selfHarm: .7, intent: .7),
        R("{FIRST} ~2 am|m|feel|feeling ~1 suicidal", selfHarm: .6, intent: .6),
        R("suicidal", selfHarm: .4),
        R("kms", selfHarm: .6, intent: .6),

        // Self-harm instructions: asking how (way, how many, lethal, ...) in a text about self-harm.
        R("{SH_ASK}", selfHarm: .6, instructions: .7, requires: Patterns(
            "suicide", "kill|killing ~0 myself|yourself", "die", "end ~0 my ~0 life", "hang|hanging ~0 myself|yourself",
            "wrists|wrist", "overdose|od", "starve|starving ~0 myself|yourself", "self ~0 harm", "purge|purging")),

        // Self-harm depicted or encouraged.
        R("cut|cutting|cuts|hurt|hurting|harm|harming|burn|burning|starve|starving|kill|killing ~0 herself|himself|themselves|yourself", selfHarm: .55),
        R("overdose|overdosed|od ~0 on", selfHarm: .55),
        R("tried ~2 overdose|suicide|kill", selfHarm: .55),
        R("cutting|harm ~6 pain|scars|relief|feel|numb", selfHarm: .5),
        R("razor ~0 blade|blades", selfHarm: .3),
        R("suicide ~2 answer|solution", selfHarm: .55),
        R("pro ~0 ana|mia", selfHarm: .55),
        R("scars", selfHarm: .15),

        // Sexual: explicit vocabulary piles up; sexual/minors is derived from it and a minor cue.
        R("{SEX_STRONG}", sexual: .55, perWord: true),
        R("{SEX_MILD}", sexual: .3, perWord: true),
        R("have|having|had ~0 sex", sexual: .45),
        R("sex ~0 chat|between|with|scene|story|roleplay", sexual: .45),
        R("phone ~0 sex", sexual: .5),
        R("sexy ~0 roleplay", sexual: .4),
        R("nude ~0 pictures|photos|pics|images|videos", sexual: .45),
        R("talk|talking ~0 dirty", sexual: .45),
        R("dirty ~0 story|stories|talk", sexual: .45),
        R("in ~0 bed", sexual: .2),
    ];

    /// <summary>Every word the lexicon knows plus common short words: the vocabulary for splitting spaced-out letters.</summary>
    public static readonly FrozenSet<string> Vocabulary = Rules
        .SelectMany(rule => rule.Pattern.Words.Concat(rule.Requires?.SelectMany(p => p.Words) ?? []))
        .Concat(Classes.Values.SelectMany(words => words))
        .Concat(["a", "an", "the", "and", "are", "am", "is", "it", "of", "to", "in", "on", "so", "be", "me", "my", "myself", "all", "go"])
        .ToFrozenSet(StringComparer.Ordinal);

    private static FrozenSet<string> Normalized(IEnumerable<string> words) =>
        words.Select(ModerationPattern.Normalize).ToFrozenSet(StringComparer.Ordinal);

    private static ModerationPattern[] Patterns(params string[] sources) =>
        [.. sources.Select(source => ModerationPattern.Parse(source, Classes))];

    /// <summary>A wrongful action: once on its own, once more in a text that asks how (so a request settles it).</summary>
    private static ModerationRule[] Wrongdoing(string pattern, double illicit, double illicitViolent = 0, double violence = 0) =>
    [
        R(pattern, illicit: illicit, illicitViolent: illicitViolent, violence: violence),
        R(pattern, illicit: illicit, illicitViolent: illicitViolent, violence: violence, requires: AsksHow),
    ];

    private static ModerationRule R(
        string pattern,
        double harassment = 0,
        double threat = 0,
        double hate = 0,
        double hateThreat = 0,
        double illicit = 0,
        double illicitViolent = 0,
        double selfHarm = 0,
        double intent = 0,
        double instructions = 0,
        double sexual = 0,
        double violence = 0,
        double graphic = 0,
        IReadOnlyList<ModerationPattern>? requires = null,
        bool perWord = false)
    {
        // Indexed by ModerationCategory; sexual/minors (index 10) is derived, never weighted directly.
        double[] weights = [harassment, threat, hate, hateThreat, illicit, illicitViolent, selfHarm, intent, instructions, sexual, 0, violence, graphic];
        return new ModerationRule(ModerationPattern.Parse(pattern, Classes), weights, requires, perWord);
    }
}
