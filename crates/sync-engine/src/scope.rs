//! Scoping: assignment (groups, app roles) and attribute scoping filters.
