using Bunit;
using DeepExtension.Web.Components.Controls;

namespace DeepExtension.Tests.Web;

public class ModelCardViewTests : ComponentTestContext
{
    /// <summary>A customized model's card as written before the fix: its started time has no "Z", its losses are unrounded.</summary>
    private const string OldTrainingCard = """
        {
          "base_model": { "technical_name": "tiny-qwen2", "model_name": "Tiny Qwen2", "architecture": "Qwen2ForCausalLM" },
          "train": { "run_id": "0529a83c-9d4d-4522-b523-ef6eb6684bab", "name": "plus-one", "method": "SFT (LoRA)", "algorithm": "Sft",
                     "started_utc": "2026-11-22T10:00:00.0000000", "finished_utc": "2026-11-22T11:02:30.0000000Z", "steps": 1200, "epochs": 3 },
          "dataset": { "name": "facts", "version": 2, "sha256": "89594c436932eb2f51c0fe0785590c537d3fb7531e98363f2089f22950c1b446", "rows": 12345, "format": "Chat" },
          "parameters": { "learning_rate": 0.0002, "num_epochs": 3, "system_prompt": "" },
          "evaluation": { "final_loss": 0.123456789, "best_loss": 0.0987654321, "best_eval_loss": null }
        }
        """;

    [Fact]
    public void ModelCardView_CustomizedCard_ShowsLabelledSectionsWithFormattedNumbers()
    {
        var card = Render<ModelCardView>(p => p.Add(c => c.CardJson, OldTrainingCard).Add(c => c.FileName, "plus-one"));

        Assert.Equal(["Training", "Data lineage", "Evaluation", "Parameters"], card.FindAll("[data-testid=card-section-title]").Select(t => t.TextContent));
        Assert.Equal("0.1235", card.Find("[data-testid=card-final-training-loss]").TextContent.Trim());
        Assert.Equal("0.09877", card.Find("[data-testid=card-best-training-loss]").TextContent.Trim());
        Assert.Equal("not evaluated (no validation split)", card.Find("[data-testid=card-best-evaluation-loss]").TextContent.Trim());
        Assert.Equal("1h 02m", card.Find("[data-testid=card-duration]").TextContent.Trim());
        Assert.Equal("1,200", card.Find("[data-testid=card-steps]").TextContent.Trim());
        Assert.Equal("12,345", card.Find("[data-testid=card-rows]").TextContent.Trim());
        Assert.Equal("facts v2", card.Find("[data-testid=card-dataset]").TextContent.Trim());
        Assert.Equal("SFT (LoRA)", card.Find("[data-testid=card-method]").TextContent.Trim());
        Assert.Equal("2e-4", card.Find("[data-testid=card-learning-rate]").TextContent.Trim());
        Assert.Equal("(none)", card.Find("[data-testid=card-system-prompt]").TextContent.Trim());
        // The old time without "Z" is UTC: hover text and the machine-readable time say so.
        var started = card.Find("[data-testid=card-started] .de-time");
        Assert.Equal("2026-11-22T10:00:00.0000000Z", started.GetAttribute("data-utc"));
        Assert.Equal("2026-11-22 10:00:00 UTC", started.GetAttribute("title"));
        Assert.DoesNotContain("final_loss", card.Find(".de-card-sections").TextContent);
    }

    [Fact]
    public void ModelCardView_BaseModelCard_ShowsSpecialTokensAsTextWithTheirIds()
    {
        var read = DeepExtension.Core.BaseModels.ModelCardReader.Read(Support.ReferenceModels.BundledPathOf("tiny-qwen2"));

        var card = Render<ModelCardView>(p => p.Add(c => c.Card, read));

        // generation_config.json says eos 2 and pad 0; tokenizer.json names them.
        Assert.Equal("BOS —, EOS <|im_end|> (2), PAD <|endoftext|> (0)", card.Find("[data-testid=card-special-tokens]").TextContent.Trim());
        // A card stored before the texts were recorded still shows the ids.
        var older = Render<ModelCardView>(p => p.Add(c => c.Card, read with { SpecialTokenTexts = new Dictionary<int, string>() }));
        Assert.Equal("BOS —, EOS 2, PAD 0", older.Find("[data-testid=card-special-tokens]").TextContent.Trim());
    }

    [Fact]
    public void ModelCardView_RawJsonToggle_ShowsTheStoredCardAndOffersItsDownload()
    {
        var card = Render<ModelCardView>(p => p.Add(c => c.CardJson, OldTrainingCard).Add(c => c.FileName, "plus-one"));

        card.Find("[data-testid=card-raw-toggle]").Click();

        Assert.Contains("\"final_loss\": 0.123456789", card.Find("[data-testid=card-json]").TextContent);
        var download = card.Find("[data-testid=card-download]");
        Assert.Equal("plus-one.card.json", download.GetAttribute("download"));
        Assert.StartsWith("data:application/json;charset=utf-8,", download.GetAttribute("href"));
        Assert.Contains(Uri.EscapeDataString("\"best_loss\": 0.0987654321"), download.GetAttribute("href"));
    }

    [Fact]
    public void ModelCardView_CardThatIsNotJson_ShowsNoSectionsInsteadOfFailing()
    {
        var card = Render<ModelCardView>(p => p.Add(c => c.CardJson, "not json"));

        Assert.Empty(card.FindAll("[data-testid=card-section]"));
    }
}
