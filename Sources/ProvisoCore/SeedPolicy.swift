/// The built-in default policy (PRODUCT.md, "The seed policy"). Embedded in the binary so the
/// executable works wherever it is copied; `policies/seed-policy.json` is the same text (a test
/// keeps them equal) for operators to copy, edit and validate.
let seedPolicySource = #"""
{
  "format": "proviso-policy/1",
  "version": "seed-2025-11-03",
  "platform": "LinkedIn",
  "description": "Seed policy: generative-AI training on by default in US/ROW since 18 Sep 2024 and in EEA, GB, CH, CA, HK from 3 Nov 2025; advertising purposes on by default everywhere except affiliate sharing in EEA and CH; GPC honoured for off-site ads and affiliate sharing in the US.",
  "settings": [
    {
      "id": "genai-improvement",
      "label": "Data for Generative AI Improvement",
      "switch_label": "Use my data for training content creation AI models",
      "section": "Data privacy",
      "description": "Your profile, public posts and activity may be used to train AI models that create content. Private messages are never used. Turning this off stops future use; training already done is not undone."
    },
    {
      "id": "ads-off-platform",
      "label": "Ads off LinkedIn",
      "section": "Advertising data",
      "description": "Use your data to show you relevant ads on other sites and apps."
    },
    {
      "id": "ads-data-from-others",
      "label": "Data from others for ads",
      "section": "Advertising data",
      "description": "Let advertisers match information they hold about you to show you relevant ads here."
    },
    {
      "id": "ads-measure-success",
      "label": "Measure ad success",
      "section": "Advertising data",
      "description": "Use your actions to measure how well ads perform."
    },
    {
      "id": "ads-share-affiliates",
      "label": "Share data with affiliates and partners",
      "section": "Advertising data",
      "description": "Share your data with our affiliates and partners for ads. Needs Ads off LinkedIn to be on.",
      "depends_on": ["ads-off-platform"]
    }
  ],
  "purposes": [
    {
      "id": "genai-training",
      "description": "Training content-generating AI models.",
      "gated_by": "genai-improvement",
      "categories": ["profile", "post", "comment", "article", "activity", "ai-prompt", "job-seeker", "group", "feedback"],
      "public_only": true,
      "exclude_minors": true,
      "notice_period_days": 30,
      "rules": [
        {"regions": ["US", "ROW"], "in_scope_from": "2024-09-18", "default": "on", "legal_basis": "opt-out"},
        {"regions": ["EEA", "GB", "CH"], "in_scope_from": "2025-11-03", "default": "on", "legal_basis": "legitimate-interest"},
        {"regions": ["CA", "HK"], "in_scope_from": "2025-11-03", "default": "on", "legal_basis": "opt-out"}
      ]
    },
    {
      "id": "ads-offsite",
      "gated_by": "ads-off-platform",
      "categories": ["profile", "activity"],
      "exclude_minors": true,
      "notice_period_days": 30,
      "rules": [
        {"regions": ["US"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "opt-out", "gpc": true},
        {"regions": ["EEA", "GB", "CH"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "legitimate-interest"},
        {"regions": ["CA", "HK", "ROW"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "opt-out"}
      ]
    },
    {
      "id": "ads-retargeting",
      "gated_by": "ads-data-from-others",
      "categories": ["profile", "activity"],
      "exclude_minors": true,
      "notice_period_days": 30,
      "rules": [
        {"regions": ["EEA", "GB", "CH"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "legitimate-interest"},
        {"regions": ["US", "CA", "HK", "ROW"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "opt-out"}
      ]
    },
    {
      "id": "ads-measurement",
      "gated_by": "ads-measure-success",
      "categories": ["profile", "activity"],
      "exclude_minors": true,
      "notice_period_days": 30,
      "rules": [
        {"regions": ["EEA", "GB", "CH"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "legitimate-interest"},
        {"regions": ["US", "CA", "HK", "ROW"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "opt-out"}
      ]
    },
    {
      "id": "affiliate-sharing",
      "gated_by": "ads-share-affiliates",
      "categories": ["profile", "activity"],
      "exclude_minors": true,
      "notice_period_days": 30,
      "rules": [
        {"regions": ["US"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "opt-out", "gpc": true},
        {"regions": ["GB"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "legitimate-interest"},
        {"regions": ["CA", "HK", "ROW"], "in_scope_from": "2003-05-05", "default": "on", "legal_basis": "opt-out"}
      ]
    }
  ]
}
"""#

extension Policy {
    /// The built-in seed policy, parsed once.
    public static let seed: Policy = {
        do { return try Policy.parse(seedPolicySource) } catch {
            preconditionFailure("the built-in seed policy is invalid: \(error)")
        }
    }()
}
