//! Alert rules of seed 003 over verified events, from one chain or many.

mod config;

pub use config::{
    AlertConfig, AlertConfigError, BulkAccess, BusinessHours, ConcurrentAccess, LocalTime,
    RepeatedUnassigned, Weekday,
};
