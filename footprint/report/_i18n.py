"""Report wording in English and French.

CAR documents are in French ("zones conformes", "bordereau d'achat",
"carnet de collecte"); the verdict wording mirrors how experts word origin
opinions (DOMAIN §1.1 and §3.4): a probability phrase plus the areas the
parcel is consistent with, never a proof.
"""

from __future__ import annotations

from typing import Any

from .._types import REPORT_LANGUAGES

__all__ = ["LANGUAGES", "verdict_text", "words"]

LANGUAGES = REPORT_LANGUAGES

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Parcel footprint assessment",
        "profile_title": "Reference footprint",
        "draft": "DRAFT: not valid until signed by two experts",
        "synthetic": "SYNTHETIC: the reference set or model is synthetic; not for real decisions",
        "caveat_title": "Standing caveat",
        "caveat": (
            "No method proves the origin of a single diamond. GIA (Gems & Gemology, Fall 2022): "
            "\u201cthere has been no study by any method demonstrating unique and measurable "
            "characteristics that would allow for independent provenance determination of a random "
            "individual diamond.\u201d Footprints are population profiles: this report gives an opinion "
            "on the parcel as a whole, stone-level figures are supporting evidence only, and the "
            "opinion is no stronger than the reference set behind it."
        ),
        "batch_summary": "Batch summary",
        "parcels": "Parcels",
        "stones": "Stones",
        "parcel": "Parcel",
        "verdict": "Verdict",
        "opinion": "Opinion",
        "declared_zone": "Declared zone",
        "best_zone": "Best-supported zone",
        "kp_certificate": "KP certificate",
        "exporter": "Exporter / buying house",
        "declared_value": "Declared value",
        "value_per_ct": "Value per carat",
        "value_band": "Reference band for the zone",
        "value_band_none": "no reference band for this zone",
        "value_outside": "outside the reference band",
        "value_inside": "within the reference band",
        "cleaning_state": "Cleaning state",
        "custody": "Purchase slips (bordereau d'achat) / collection book (carnet de collecte)",
        "custody_none": "none recorded in the stones file",
        "total_ct": "Total mass",
        "mean_ct": "Mean mass per stone",
        "weighed_of": "{n} of {total} stones weighed; {missing} without a mass are not in this figure",
        "per_ct_partial": ("not computed: {missing} of {total} stones have no mass "
                           "(give total_carats in the parcels file)"),
        "total_declared": "total of the parcel (parcels file); described: {described}",
        "size_distribution": "Size distribution (% of carats and % of stones per size class)",
        "size_class": "Size class",
        "pct_carats": "% carats",
        "pct_stones": "% stones",
        "no_mass_note": "{n} stones of these classes have no mass: carat shares are of the weighed carats",
        "no_class_note": "{n} stones have no size class and are not in this table",
        "expected_value": "Expected value (price book)",
        "value_ratio": "Declared / expected",
        "value_flag_inside": "inside the expected interval",
        "value_flag_under": "BELOW the expected interval",
        "value_flag_over": "ABOVE the expected interval",
        "value_flag_not_declared": "no declared value",
        "value_flag_incomplete": "not checked: too many stones could not be valued",
        "valuation_method": "Valuation method (declared value)",
        "lr": "Likelihood ratio, declared zone against the best alternative (log10)",
        "posterior": "Posterior probability per reference zone",
        "foreign_fraction": "Estimated fraction of stones not consistent with the declared zone",
        "interval": "interval",
        "novelty": "Unknown-origin test p-value (small: unlike every reference zone)",
        "footprint_panels": "Parcel against the reference footprints",
        "nearest_lots": "Nearest reference lots (descriptive, not the basis of the verdict)",
        "parcel_photos": "Photos: the parcel beside the reference",
        "this_parcel": "This parcel",
        "reference_photos": "Reference stones of the nearest lots",
        "lot": "Lot",
        "site": "Site",
        "zone": "Zone",
        "distance": "Distance",
        "no_reference": "No reference store available: reference panels and thumbnails are omitted.",
        "reference_sizes": "Reference set sizes per zone",
        "n_stones": "stones",
        "n_lots": "lots",
        "n_sites": "sites",
        "few_reference": "few reference lots: treat this zone's footprint with caution",
        "provenance": "Model, reference store and code",
        "thresholds": "Thresholds used",
        "signoff": "Expert review and sign-off",
        "expert": "Expert",
        "name": "Name",
        "signature": "Signature",
        "date": "Date",
        "recommendation": "Recommendation / remarks",
        "status": "Status",
        "needs_review": "needs expert review",
        "all_consistent": "all parcels consistent with their declared zone",
        "not_detailed": "Parcels beyond the detail limit are listed in the summary table only",
        "compliant_zones": "compliant zones",
        "not_declared": "not declared",
        "not_given": "not given",
        "profile_sizes": "Stones and lots behind each distribution",
        "gallery": "Typical stones",
        "no_images": "No photographs in the store for this selection.",
        "selection": "Selection",
        "store": "Reference store",
        "n_label": "n",
        "value_band_source": (
            "Bands are country-level KP export statistics (footprint/data/value_bands.json), "
            "not zone-level figures; a flag is a prompt for questions, not evidence of origin."
        ),
        "verdict_counts": "Verdicts",
        "stone_count": "Stone count",
        "store_mismatch": (
            "The reference store shown here is not the one the model was trained on (content hashes differ): "
            "reference panels may not match the evidence behind the verdicts."
        ),
        "too_few": "{n} stones: fewer than the {minimum} a footprint opinion needs (min_parcel_stones)",
        "why": "Why this opinion",
        "why_fields": ("Fields that move the evidence most ({target} against "
                       "{alternative}): each field's share "
                       "of the summed per-field log10 evidence"),
        "why_field": "Field",
        "why_share": "Share",
        "why_supports": "Supports",
        "why_no_fields": "No field carries evidence for this parcel (or it was not computed).",
        "why_sites": "Sites of {zone} the parcel resembles: estimated share of its stones (90% interval)",
        "why_no_sites": "No site shares for this parcel.",
        "why_mixed_p": ("Foreign-stone test: p = {p}. A parcel is flagged "
                        "mixed when p < {alpha}: the test flags "
                        "at most 1 in {one_in} genuine parcels."),
        "why_unknown_p": ("Unknown-origin test: p = {p}. A parcel is flagged "
                          "unknown origin when p < {alpha}: "
                          "at most 1 in {one_in} genuine parcels of the reference zones."),
        "why_unknown_split_p": ("Unknown-origin test, stone by stone: p = {p}. A parcel is flagged unknown "
                                "origin when p < {alpha} or the population test's p < {alpha}: together at "
                                "most 1 in {one_in} genuine parcels of the reference zones."),
        "why_fit_p": ("Population test (do the stones, taken together, fit a mixture of the reference "
                      "sites?): p = {p}, flagged when p < {alpha}."),
        "why_flags": "Flags raised",
        "why_no_flags": "none",
        "why_foreign": ("Stones most likely foreign to {zone} (probability at "
                        "the parcel's mixture fit): pull "
                        "them for a second look"),
        "why_stone": "Stone (sample_id)",
        "why_p_foreign": "P(foreign)",
        "thin_zone": ("Reference zone {zone} is thin: {stones} stones from "
                      "{lots} lot(s); its evidence was widened "
                      "x{widening}, so opinions involving it are less certain."),
        "lot_band": "band: 10-90% of the {zone} reference lots",
    },
    "fr": {
        "title": "Évaluation de l'empreinte d'un lot",
        "profile_title": "Empreinte de référence",
        "draft": "PROJET : sans valeur avant la signature de deux experts",
        "synthetic": (
            "SYNTHÉTIQUE : le jeu de référence ou le modèle est synthétique ; pas pour de vraies décisions"
        ),
        "caveat_title": "Mise en garde permanente",
        "caveat": (
            "Aucune méthode ne prouve l'origine d'un diamant isolé. GIA (Gems & Gemology, automne "
            "2022) : aucune étude, par aucune méthode, n'a montré de caractéristiques uniques et "
            "mesurables permettant de déterminer de façon indépendante la provenance d'un diamant "
            "pris au hasard. Les empreintes sont des profils de population : ce rapport donne un avis "
            "sur le lot dans son ensemble, les résultats par pierre ne sont que des éléments à "
            "l'appui, et l'avis ne vaut que ce que vaut le jeu de référence."
        ),
        "batch_summary": "Synthèse du lot d'envois",
        "parcels": "Lots",
        "stones": "Pierres",
        "parcel": "Lot",
        "verdict": "Verdict",
        "opinion": "Avis",
        "declared_zone": "Zone déclarée",
        "best_zone": "Zone la mieux étayée",
        "kp_certificate": "Certificat du Processus de Kimberley",
        "exporter": "Exportateur / bureau d'achat",
        "declared_value": "Valeur déclarée",
        "value_per_ct": "Valeur par carat",
        "value_band": "Fourchette de référence de la zone",
        "value_band_none": "pas de fourchette de référence pour cette zone",
        "value_outside": "hors de la fourchette de référence",
        "value_inside": "dans la fourchette de référence",
        "cleaning_state": "État de nettoyage",
        "custody": "Bordereaux d'achat / carnet de collecte",
        "custody_none": "aucun dans le fichier des pierres",
        "total_ct": "Masse totale",
        "mean_ct": "Masse moyenne par pierre",
        "weighed_of": "{n} pierres pesées sur {total} ; les {missing} sans masse ne sont pas dans ce chiffre",
        "per_ct_partial": ("non calculée : {missing} pierres sur {total} sans masse "
                           "(indiquer total_carats dans le fichier des lots)"),
        "total_declared": "total du lot (fichier des lots) ; décrit : {described}",
        "size_distribution": "Distribution des tailles (% des carats et % des pierres par classe de taille)",
        "size_class": "Classe de taille",
        "pct_carats": "% carats",
        "pct_stones": "% pierres",
        "no_mass_note": ("{n} pierres de ces classes sans masse : "
                         "les parts en carats portent sur les carats pesés"),
        "no_class_note": "{n} pierres sans classe de taille ne sont pas dans ce tableau",
        "expected_value": "Valeur attendue (barème)",
        "value_ratio": "Déclarée / attendue",
        "value_flag_inside": "dans l'intervalle attendu",
        "value_flag_under": "SOUS l'intervalle attendu",
        "value_flag_over": "AU-DESSUS de l'intervalle attendu",
        "value_flag_not_declared": "pas de valeur déclarée",
        "value_flag_incomplete": "non vérifiée : trop de pierres n'ont pu être évaluées",
        "valuation_method": "Méthode d'évaluation (valeur déclarée)",
        "lr": "Rapport de vraisemblance, zone déclarée contre la meilleure alternative (log10)",
        "posterior": "Probabilité a posteriori par zone de référence",
        "foreign_fraction": "Fraction estimée de pierres non compatibles avec la zone déclarée",
        "interval": "intervalle",
        "novelty": (
            "Valeur p du test d'origine inconnue (faible : différent de toutes les zones de référence)"
        ),
        "footprint_panels": "Le lot face aux empreintes de référence",
        "nearest_lots": "Lots de référence les plus proches (descriptif, pas le fondement du verdict)",
        "parcel_photos": "Photos : le lot à côté de la référence",
        "this_parcel": "Ce lot",
        "reference_photos": "Pierres de référence des lots les plus proches",
        "lot": "Lot",
        "site": "Site",
        "zone": "Zone",
        "distance": "Distance",
        "no_reference": "Pas de base de référence : panneaux de référence et vignettes omis.",
        "reference_sizes": "Taille du jeu de référence par zone",
        "n_stones": "pierres",
        "n_lots": "lots",
        "n_sites": "sites",
        "few_reference": "peu de lots de référence : empreinte de cette zone à interpréter avec prudence",
        "provenance": "Modèle, base de référence et logiciel",
        "thresholds": "Seuils appliqués",
        "signoff": "Examen et signature des experts",
        "expert": "Expert",
        "name": "Nom",
        "signature": "Signature",
        "date": "Date",
        "recommendation": "Recommandation / observations",
        "status": "Statut",
        "needs_review": "à examiner par un expert",
        "all_consistent": "tous les lots sont compatibles avec leur zone déclarée",
        "not_detailed": (
            "Les lots au-delà de la limite de détail figurent seulement dans le tableau de synthèse"
        ),
        "compliant_zones": "zones conformes",
        "not_declared": "non déclarée",
        "not_given": "non renseigné",
        "profile_sizes": "Pierres et lots derrière chaque distribution",
        "gallery": "Pierres typiques",
        "no_images": "Aucune photographie dans la base pour cette sélection.",
        "selection": "Sélection",
        "store": "Base de référence",
        "n_label": "n",
        "value_band_source": (
            "Les fourchettes sont des statistiques d'exportation PK par pays "
            "(footprint/data/value_bands.json), pas par zone ; un écart appelle des questions, "
            "il ne prouve pas l'origine."
        ),
        "verdict_counts": "Verdicts",
        "stone_count": "Nombre de pierres",
        "store_mismatch": (
            "La base de référence affichée n'est pas celle sur laquelle le modèle a été entraîné (empreintes "
            "différentes) : les panneaux de référence peuvent ne pas correspondre aux éléments du verdict."
        ),
        "too_few": "{n} pierres : moins des {minimum} qu'exige un avis sur l'empreinte (min_parcel_stones)",
        "why": "Pourquoi cet avis",
        "why_fields": ("Champs qui pèsent le plus ({target} contre "
                       "{alternative}) : part de chaque champ dans "
                       "la somme des éléments log10 par champ"),
        "why_field": "Champ",
        "why_share": "Part",
        "why_supports": "En faveur de",
        "why_no_fields": "Aucun champ ne porte d'élément pour ce lot (ou il n'a pas été calculé).",
        "why_sites": ("Sites de {zone} auxquels le lot ressemble : part estimée de ses pierres "
                      "(intervalle à 90 %)"),
        "why_no_sites": "Pas de parts de sites pour ce lot.",
        "why_mixed_p": ("Test des pierres étrangères : p = {p}. Un lot est "
                        "signalé mélangé si p < {alpha} : le "
                        "test signale au plus 1 lot authentique sur {one_in}."),
        "why_unknown_p": ("Test d'origine inconnue : p = {p}. Un lot est signalé d'origine inconnue si p < "
                          "{alpha} : au plus 1 lot authentique des zones de référence sur {one_in}."),
        "why_unknown_split_p": ("Test d'origine inconnue, pierre par pierre : p = {p}. Un lot est signalé "
                                "d'origine inconnue si p < {alpha} ou si le test de population donne p < "
                                "{alpha} : ensemble, au plus 1 lot authentique des zones de référence sur "
                                "{one_in}."),
        "why_fit_p": ("Test de population (les pierres, prises ensemble, suivent-elles un mélange des sites "
                      "de référence ?) : p = {p}, signalé si p < {alpha}."),
        "why_flags": "Signalements",
        "why_no_flags": "aucun",
        "why_foreign": ("Pierres les plus probablement étrangères à {zone} (probabilité selon le mélange "
                        "ajusté du lot) : à réexaminer"),
        "why_stone": "Pierre (sample_id)",
        "why_p_foreign": "P(étrangère)",
        "thin_zone": ("La zone de référence {zone} est peu fournie : {stones} pierres de {lots} lot(s) ; ses "
                      "éléments ont été élargis x{widening}, les avis qui la concernent sont moins sûrs."),
        "lot_band": "bande : 10-90 % des lots de référence de {zone}",
    },
}

_VERDICTS: dict[str, dict[str, str]] = {
    "en": {
        "consistent": "Consistent with the declared origin ({declared})",
        "inconsistent": (
            "Not consistent with the declared origin ({declared}); characteristics typical of {best}"
        ),
        "mixed": (
            "Mixed parcel: an estimated {fraction} of the stones are not consistent with the declared "
            "origin ({declared})"
        ),
        "unknown_origin": (
            "Characteristics not typical of any reference zone: possible origin outside the reference set"
        ),
        "inconclusive": "Inconclusive: the evidence does not support an opinion on the origin",
        "assigned": "No declared origin; characteristics typical of {zones}",
    },
    "fr": {
        "consistent": "Compatible avec l'origine déclarée ({declared})",
        "inconsistent": (
            "Non compatible avec l'origine déclarée ({declared}) ; caractéristiques typiques de {best}"
        ),
        "mixed": (
            "Lot mélangé : environ {fraction} des pierres ne sont pas compatibles avec l'origine "
            "déclarée ({declared})"
        ),
        "unknown_origin": (
            "Caractéristiques non typiques d'aucune zone de référence : origine possible hors "
            "du jeu de référence"
        ),
        "inconclusive": "Non concluant : les éléments ne permettent pas de se prononcer sur l'origine",
        "assigned": "Aucune origine déclarée ; caractéristiques typiques de {zones}",
    },
}

_SHORT: dict[str, dict[str, str]] = {
    "en": {
        "consistent": "consistent",
        "inconsistent": "not consistent",
        "mixed": "mixed",
        "unknown_origin": "unknown origin",
        "inconclusive": "inconclusive",
        "assigned": "assigned",
    },
    "fr": {
        "consistent": "compatible",
        "inconsistent": "non compatible",
        "mixed": "mélangé",
        "unknown_origin": "origine inconnue",
        "inconclusive": "non concluant",
        "assigned": "attribué",
    },
}


def words(lang: str) -> dict[str, str]:
    """Return the report's wording table for ``lang`` ("en" or "fr")."""
    return _WORDS[lang]


def short_verdict(verdict: str, lang: str) -> str:
    """Return the one- or two-word verdict label used in tables."""
    return _SHORT[lang].get(verdict, verdict)


def verdict_text(verdict: str, lang: str, **values: Any) -> str:
    """Return the verdict in expert wording.

    Parameters
    ----------
    verdict : str
        One of consistent, inconsistent, mixed, unknown_origin, inconclusive, assigned.
    lang : str
        "en" or "fr".
    **values
        ``declared``, ``best``, ``zones`` (text) and ``fraction`` (text, e.g. "30 %").
    """
    template = _VERDICTS[lang].get(verdict)
    if template is None:
        return verdict
    defaults = {"declared": "", "best": "", "zones": "", "fraction": ""}
    defaults.update({k: v for k, v in values.items() if v is not None})
    return template.format(**defaults)
