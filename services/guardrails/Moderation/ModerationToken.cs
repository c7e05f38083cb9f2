namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>
/// A normalised word of the classified text: lower case, leetspeak mapped, runs of a repeated letter
/// squeezed to one (so "kiiiill", "k1ll" and "kill" are all <c>kil</c>).
/// </summary>
/// <param name="Text">The normalised word.</param>
/// <param name="Sentence">Index of the sentence it belongs to; rules never match across sentences.</param>
/// <param name="Quoted">Inside a short quotation ('idiot', "kill"): the word is mentioned, not used.</param>
internal readonly record struct ModerationToken(string Text, int Sentence, bool Quoted);
