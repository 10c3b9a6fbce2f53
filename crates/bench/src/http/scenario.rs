//! The scenarios `run` knows, by the names the command line uses.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    CreateRun,
    PatchStepRun,
    GetRun,
    ListTwoFilters,
    ListMetaFilter,
    ListMetaSort,
    Search,
    SearchableFields,
    ProcessDashboard,
    Overview,
    Kpis,
    EntityJourney,
    Page1,
    PageDeep,
}

impl Scenario {
    pub const ALL: [Scenario; 14] = [
        Self::CreateRun,
        Self::PatchStepRun,
        Self::GetRun,
        Self::ListTwoFilters,
        Self::ListMetaFilter,
        Self::ListMetaSort,
        Self::Search,
        Self::SearchableFields,
        Self::ProcessDashboard,
        Self::Overview,
        Self::Kpis,
        Self::EntityJourney,
        Self::Page1,
        Self::PageDeep,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateRun => "create_run",
            Self::PatchStepRun => "patch_step_run",
            Self::GetRun => "get_run",
            Self::ListTwoFilters => "list_two_filters",
            Self::ListMetaFilter => "list_meta_filter",
            Self::ListMetaSort => "list_meta_sort",
            Self::Search => "search",
            Self::SearchableFields => "searchable_fields",
            Self::ProcessDashboard => "process_dashboard",
            Self::Overview => "overview",
            Self::Kpis => "kpis",
            Self::EntityJourney => "entity_journey",
            Self::Page1 => "page_1",
            Self::PageDeep => "page_deep",
        }
    }

    pub fn is_write(self) -> bool {
        matches!(self, Self::CreateRun | Self::PatchStepRun)
    }

    /// A comma-separated list of names, in the order given; `all`, `reads` and `writes` name
    /// groups. An unknown name is an error that lists the known ones.
    pub fn parse_list(text: &str) -> Result<Vec<Scenario>, String> {
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let group: Vec<Scenario> = match name {
                "all" => Self::ALL.to_vec(),
                "reads" => Self::ALL.into_iter().filter(|s| !s.is_write()).collect(),
                "writes" => Self::ALL.into_iter().filter(|s| s.is_write()).collect(),
                _ => match Self::ALL.into_iter().find(|s| s.name() == name) {
                    Some(s) => vec![s],
                    None => {
                        let known: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
                        return Err(format!(
                            "unknown scenario {name:?}; known: all, reads, writes, {}",
                            known.join(", ")
                        ));
                    }
                },
            };
            for s in group {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        if out.is_empty() {
            return Err("no scenario named".to_owned());
        }
        Ok(out)
    }
}

/// The `--scenarios` argument: one value that holds a list.
#[derive(Debug, Clone)]
pub struct ScenarioList(pub Vec<Scenario>);

impl ScenarioList {
    pub fn parse(text: &str) -> Result<Self, String> {
        Scenario::parse_list(text).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_groups_expand() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse_list(s.name()), Ok(vec![s]));
        }
        assert_eq!(Scenario::parse_list("all").map(|v| v.len()), Ok(14));
        assert_eq!(
            Scenario::parse_list("writes"),
            Ok(vec![Scenario::CreateRun, Scenario::PatchStepRun])
        );
        assert_eq!(
            Scenario::parse_list("get_run, get_run,page_1"),
            Ok(vec![Scenario::GetRun, Scenario::Page1])
        );
    }

    #[test]
    fn unknown_names_are_refused() {
        let err = Scenario::parse_list("get_run,nope").unwrap_err();
        assert!(
            err.contains("\"nope\"") && err.contains("page_deep"),
            "{err}"
        );
        assert!(Scenario::parse_list(" , ").is_err());
    }
}
